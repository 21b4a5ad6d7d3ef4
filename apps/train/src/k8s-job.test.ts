import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { indexedJobYaml } from './k8s-job.js';

describe('Kubernetes Indexed Job', () => {
  it('runs one grid point per completion index with the sweep on a shared claim', () => {
    const yaml = indexedJobYaml({
      name: 'scaling-1',
      completions: 12,
      parallelism: 4,
      image: 'registry.example/andes:1',
      claim: 'sweeps',
      mountPath: '/work',
      configPath: 'sweeps/sweep.json',
      backoffLimitPerIndex: 3,
      backend: 'cpu',
    });
    const job = parse(yaml);
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'scaling-1' } });
    expect(job.spec).toMatchObject({
      completionMode: 'Indexed',
      completions: 12,
      parallelism: 4,
      backoffLimitPerIndex: 3,
    });
    const pod = job.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    const [container] = pod.containers;
    expect(container.args).toEqual(['sweep', '--config', 'sweeps/sweep.json', '--worker']);
    expect(container.workingDir).toBe('/work');
    expect(container.volumeMounts).toEqual([{ name: 'sweep', mountPath: '/work' }]);
    expect(pod.volumes).toEqual([{ name: 'sweep', persistentVolumeClaim: { claimName: 'sweeps' } }]);
  });

  it('rejects names Kubernetes would reject', () => {
    const options = {
      name: 'Bad_Name',
      completions: 1,
      parallelism: 1,
      image: 'i',
      claim: 'c',
      mountPath: '/w',
      configPath: 's.json',
      backoffLimitPerIndex: 1,
      backend: 'cpu',
    };
    expect(() => indexedJobYaml(options)).toThrow('expected a DNS-1123 label');
  });
});
