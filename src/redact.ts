/**
 * Blanks every secret (8 characters or more) in a log line. Code never logs the bot token on purpose; this
 * catches the accidental case (an upstream error echoing a URL) before the line reaches any sink.
 */
export function redactor(secrets: Array<string | undefined>): ((line: string) => string) | undefined {
  const kept = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8);
  if (kept.length === 0) return undefined;
  return (line) => {
    for (const s of kept) if (line.includes(s)) line = line.split(s).join('<redacted>');
    return line;
  };
}
