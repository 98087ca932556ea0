import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, errors, statusText } from './errors.js';

/**
 * The one place where failures become HTTP answers: a typed error keeps its code, status and message;
 * Fastify's own client errors are shown as they are; anything else is a 500 whose details only the log sees.
 */
export function handleErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    let status: number;
    let message: string;
    let code: string;
    if (err instanceof AppError) {
      ({ statusCode: status, message, code } = err);
      if (err.retryAfter !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfter))));
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own client errors (bad JSON body, unsupported media type...) are safe to show.
      status = err.statusCode;
      message = err.message;
      code = err.code ?? 'BAD_REQUEST';
    } else {
      ({ statusCode: status, message, code } = errors.internal());
    }
    if (status >= 500) req.log.error({ err, url: req.url, code }, 'request failed');
    else req.log.debug({ code, url: req.url, status }, message);
    void reply.code(status).type('application/json').send({ statusCode: status, error: statusText[status] ?? 'Error', message, code });
  });

  app.setNotFoundHandler((req) => {
    throw errors.routeNotFound(req.method, req.url.split('?')[0]);
  });
}
