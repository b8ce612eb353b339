/** Prometheus text as a map from `name{labels}` to the value (comments and blank lines skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** A gateway's `/metrics`, parsed. */
export async function scrapeMetrics(origin: string): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(`${origin}/metrics`)).text());
}
