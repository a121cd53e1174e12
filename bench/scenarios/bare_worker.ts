/** The Worker of bare_child.ts: parses the request, answers a success. */
self.onmessage = ({ data }: MessageEvent<string>) => {
  const request = JSON.parse(data) as { seq: number };
  self.postMessage(
    JSON.stringify({ type: "result", seq: request.seq, result: { kind: "success" } }),
  );
};
