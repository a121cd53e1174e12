/** The Worker of bare_child.ts: parses the request, answers a success. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<string>) => void) | null;
  postMessage(message: string): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = ({ data }) => {
  const request = JSON.parse(data) as { seq: number };
  scope.postMessage(
    JSON.stringify({ type: "result", seq: request.seq, result: { kind: "success" } }),
  );
};
