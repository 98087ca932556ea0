// Container health check: liveness only (/health touches no dependency). Exit 0 when healthy.
const port = process.env.SERVER_PORT || 8081;
fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2500) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
