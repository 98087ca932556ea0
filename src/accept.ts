/**
 * The names an Accept or Accept-Encoding header lists (lower-cased), each with whether the client takes it:
 * a q-value above 0, or none. "a;q=0" is a refusal, not an acceptance.
 */
export function acceptedNames(header: string | undefined): Map<string, boolean> {
  const names = new Map<string, boolean>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (!name) continue;
    const q = params.find((p) => p.startsWith('q='));
    names.set(name, q === undefined || Number(q.slice(2)) > 0);
  }
  return names;
}
