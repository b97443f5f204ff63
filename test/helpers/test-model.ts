/**
 * The model tests run: the shipped default model, or `$SGUS_TEST_MODEL` (a folder, card or .onnx)
 * while developing against another one.
 */
export function testModelSpec(): string | undefined {
  return process.env.SGUS_TEST_MODEL;
}
