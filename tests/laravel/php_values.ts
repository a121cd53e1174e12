/** Values of every PHP type (UTF-8 and JSON-hostile strings, ints, floats, bools, null, nested and numeric-keyed arrays), shared by the Laravel tests of both queues. */
export const EVERY_PHP_TYPE = {
  email: "ada@example.test",
  subject: 'Wélcome ✓ 😀 "quoted" ; } / \\ tab\tnewline\n',
  count: -7,
  ratio: 0.1,
  vip: true,
  nickname: null,
  tags: ["new", "ünïcode", ""],
  profile: { city: "Zürich", scores: [1, 2.5, -3], "10": "ten", nested: { deep: [true, null] } },
};

/** SendWelcomeEmail's protected and private properties (`static phpVisibility` on the TS twin). */
export const NON_PUBLIC = { locale: "fr", secret: "s3cr3t ✓" };
