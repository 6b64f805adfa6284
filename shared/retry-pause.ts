/** A pause of 10–50 ms before trying a contended write again: jittered, so instances racing for it spread out. */
export function retryPause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
}
