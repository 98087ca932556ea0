import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig, settingNames } from '../src/config.js';
import { buildTestApp } from './helper.js';

const dir = join(__dirname, '..', '..', 'deploy', 'k8s');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const manifest = (name: string): any => parse(readFileSync(join(dir, name), 'utf8'));

test('the Kubernetes manifests match the code: variable names, ports, probe paths, grace period, selectors', async () => {
  const cm = manifest('configmap.yaml');
  const secret = manifest('secret.yaml');
  const deploy = manifest('deployment.yaml');
  const service = manifest('service.yaml');
  const hpa = manifest('hpa.yaml');
  const pdb = manifest('pdb.yaml');

  const names = new Set(settingNames);
  for (const key of [...Object.keys(cm.data), ...Object.keys(secret.stringData)]) assert.ok(names.has(key), `${key} is a setting the service reads`);
  assert.deepEqual(Object.keys(secret.stringData).sort(), ['ADMIN_TOKEN', 'REDIS_PASSWORD', 'TELEGRAM_BOT_TOKEN', 'UPLOAD_TOKEN', 'URL_SIGNING_KEY']);
  const config = loadConfig({ ...cm.data, TELEGRAM_BOT_TOKEN: '1:token-for-the-manifest-test', ADMIN_TOKEN: 'admin-token-0123456789abcdef' });

  const pod = deploy.spec.template;
  const [container] = pod.spec.containers;
  const port = (name: string) => container.ports.find((p: { name: string }) => p.name === name).containerPort;
  assert.equal(port('http'), config.server.port);
  assert.equal(port('metrics'), config.metrics.port);
  assert.equal(pod.metadata.annotations['prometheus.io/port'], String(config.metrics.port));
  assert.deepEqual(container.envFrom.map((e: Record<string, { name: string }>) => Object.values(e)[0].name), [cm.metadata.name, secret.metadata.name]);
  assert.equal(container.volumeMounts[0].mountPath, config.disk!.dir);

  // The probes ask routes the app serves.
  const t = await buildTestApp({});
  try {
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      assert.equal(probe.httpGet.port, 'http');
      assert.notEqual((await t.app.inject({ url: probe.httpGet.path })).statusCode, 404, probe.httpGet.path);
    }
  } finally {
    await t.close();
  }
  assert.equal(container.livenessProbe.httpGet.path, '/health');
  assert.equal(container.readinessProbe.httpGet.path, '/health/ready');

  // The pod may take the preStop pause and then the workers' whole shutdown before it is killed.
  const preStopSec = Number(/setTimeout\(\(\) => \{\}, (\d+)\)/.exec(container.lifecycle.preStop.exec.command.join(' '))![1]) / 1000;
  assert.ok(pod.spec.terminationGracePeriodSeconds > preStopSec + config.shutdownTimeoutMs / 1000, 'grace period covers preStop + SHUTDOWN_TIMEOUT_SEC');

  const labels = pod.metadata.labels;
  assert.deepEqual(deploy.spec.selector.matchLabels, labels);
  assert.deepEqual(service.spec.selector, labels);
  assert.deepEqual(pdb.spec.selector.matchLabels, labels);
  assert.equal(service.spec.ports.find((p: { name: string }) => p.name === 'http').targetPort, 'http');
  assert.equal(hpa.spec.scaleTargetRef.name, deploy.metadata.name);
  assert.equal(hpa.spec.scaleTargetRef.kind, 'Deployment');
});
