import { timingSafeEqual } from 'node:crypto';

/** Whether an Authorization header carries `Bearer <token>`, compared in constant time (the token must not leak through response timing). */
export function bearerMatches(authorization: string | undefined, token: Buffer): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '');
  return given.length === token.length && timingSafeEqual(given, token);
}
