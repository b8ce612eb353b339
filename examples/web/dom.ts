/** Small DOM helpers the page's modules share. */

/** The element with this `data-testid` (the page's markup is fixed, so it is there). */
export function byTestId<T extends HTMLElement = HTMLElement>(testId: string, root: ParentNode = document): T {
  const found = root.querySelector<T>(`[data-testid="${testId}"]`);
  if (!found) throw new Error(`the page has no [data-testid="${testId}"]`);
  return found;
}

export const numbers = new Intl.NumberFormat('en-US');

/**
 * Sets a `role="progressbar"` bar (its `.fill` child is the drawn part) to a fraction 0–1, shown
 * in whole percents: `aria-valuenow` is what assistive technology reads out.
 */
export function setBar(bar: HTMLElement, fraction: number): void {
  const percent = Math.floor(Math.min(Math.max(fraction, 0), 1) * 100);
  bar.setAttribute('aria-valuenow', String(percent));
  bar.querySelector<HTMLElement>('.fill')!.style.width = `${percent}%`;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
