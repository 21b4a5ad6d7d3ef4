/**
 * deploy/kubernetes against the Kubernetes schemas (kubernetes-models' validate(), generated from the API's
 * OpenAPI spec) and against the server itself: the container's args parse with the real CLI, the probes hit the
 * routes the server registers, the drain fits the grace period, and the HPA scales on a metric the server exports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildProgram, type CliOptions } from './cli.js';
import { ServeMetrics } from './metrics.js';

const DEPLOY = resolve(import.meta.dirname, '../../../deploy');
const KINDS = { Deployment, Service, HorizontalPodAutoscaler } as const;

function manifests(): Array<{ file: string; doc: Record<string, unknown> }> {
  const dir = join(DEPLOY, 'kubernetes');
  const out: Array<{ file: string; doc: Record<string, unknown> }> = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      expect(d.errors, file).toEqual([]);
      out.push({ file, doc: d.toJSON() });
    }
  }
  return out;
}

function one<K extends keyof typeof KINDS>(kind: K): InstanceType<(typeof KINDS)[K]> {
  const found = manifests().filter((m) => m.doc.kind === kind);
  expect(found, kind).toHaveLength(1);
  return new KINDS[kind](found[0]!.doc as never) as InstanceType<(typeof KINDS)[K]>;
}

describe('deploy/kubernetes', () => {
  it('every object validates against its Kubernetes schema', () => {
    const all = manifests();
    expect(all.map((m) => m.doc.kind).sort()).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'Service']);
    for (const { file, doc } of all) {
      const Kind = KINDS[doc.kind as keyof typeof KINDS];
      expect(Kind, `${file}: unexpected kind ${String(doc.kind)}`).toBeDefined();
      expect(() => new Kind(doc as never).validate(), file).not.toThrow();
    }
  });

  it('the schema check is real: a misspelt field or a wrong type fails validation', () => {
    const doc = manifests().find((m) => m.doc.kind === 'Deployment')!.doc as { spec: Record<string, unknown> };
    expect(() => new Deployment({ ...doc, spec: { ...doc.spec, replicas: 'two' } } as never).validate()).toThrow();
    const { selector: _drop, ...noSelector } = doc.spec;
    expect(() => new Deployment({ ...doc, spec: noSelector } as never).validate()).toThrow();
  });

  it('the container args parse with the real CLI, and the probes and port match the server', () => {
    const deployment = one('Deployment');
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    const program = buildProgram().exitOverride();
    program.parse(['node', 'andes-serve', ...(container.args ?? [])]);
    const o = program.opts<CliOptions>();
    expect(o.port).toBe(container.ports![0]!.containerPort);
    expect(o.host).toBe('0.0.0.0');
    expect(container.livenessProbe!.httpGet!.path).toBe('/health');
    expect(container.startupProbe!.httpGet!.path).toBe('/health');
    expect(container.readinessProbe!.httpGet!.path).toBe('/ready');
    // preStop sleep + the server's drain must end before the kubelet's SIGKILL.
    const preStop = Number(container.lifecycle!.preStop!.exec!.command!.at(-1));
    expect(preStop).toBeGreaterThan(0);
    expect(preStop + o.drainSeconds).toBeLessThan(pod.terminationGracePeriodSeconds!);
    // The Service selects the pods and targets the named port.
    const service = one('Service');
    expect(service.spec!.selector).toEqual(deployment.spec!.template.metadata!.labels);
    expect(service.spec!.ports![0]!.targetPort).toBe(container.ports![0]!.name);
  });

  it('the HPA scales the Deployment on a per-pod metric the server exports', () => {
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.spec!.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: one('Deployment').metadata!.name });
    const metric = hpa.spec!.metrics![0]!;
    expect(metric.type).toBe('Pods');
    const name = metric.pods!.metric.name;
    const exported = new ServeMetrics(
      () => 3,
      () => 0,
      () => 0,
    ).render();
    expect(exported).toMatch(new RegExp(`^# TYPE ${name} gauge$`, 'm'));
    expect(exported).toMatch(new RegExp(`^${name} 3$`, 'm'));
  });

  it('the Dockerfile builds from bookworm-slim, with lavapipe from backports (cpu) and the NVIDIA ICD (nvidia)', () => {
    const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(text).toMatch(/-t bookworm-backports mesa-vulkan-drivers/);
    expect(text).toMatch(/^FROM runtime AS nvidia$/m);
    expect(text).toMatch(/nvidia_icd\.json/);
    // cpu is the last stage, so a plain `docker build` produces it.
    expect(text.match(/^FROM .* AS (\w+)$/gm)!.at(-1)).toBe('FROM runtime AS cpu');
    const entry = /^ENTRYPOINT \["node", "([^"]+)"\]$/m.exec(text)![1]!;
    expect(readFileSync(resolve(DEPLOY, '..', entry), 'utf8')).toMatch(/'\.\.\/dist\/(cli|entry)\.js'/);
  });
});
