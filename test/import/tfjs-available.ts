/** Whether the optional TensorFlow.js packages are installed (the TF.js comparisons skip without them). */
export async function hasTfjs(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-core' as string);
    return true;
  } catch {
    return false;
  }
}
