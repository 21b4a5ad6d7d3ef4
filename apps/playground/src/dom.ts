// Small DOM helpers shared by the views.

/** The element with this id; throws naming the id when the page lacks it (a broken index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: index.html has no #${id}`);
  return el as T;
}

/** The number in an `<input type="number">`, checked against [min, max]; throws naming the field otherwise. */
export function numberField(id: string, min: number, max = Number.POSITIVE_INFINITY): number {
  const input = byId<HTMLInputElement>(id);
  const value = Number(input.value);
  if (!Number.isFinite(value) || value < min || value > max) {
    const label = input.closest('label')?.textContent?.trim() ?? id;
    throw new Error(`${label}: ${JSON.stringify(input.value)} is not a number in [${min}, ${max}]`);
  }
  return value;
}

/** Lets the browser paint before the next chunk of work. */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
