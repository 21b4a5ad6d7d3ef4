/**
 * `andes-train sweep --emit k8s`: a Kubernetes Indexed Job that runs one grid point per completion index, with the
 * sweep directory on a shared PersistentVolumeClaim, for sweeps bigger than one machine. Each pod runs
 * `andes-train sweep --config <file> --worker`, which reads its point from JOB_COMPLETION_INDEX (set by the Job
 * controller in Indexed mode) and resumes from the point's checkpoint when a pod is retried.
 *
 * @module
 */
import { isAbsolute } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError } from './config.js';

/** Options of {@link indexedJob}. */
export interface IndexedJobOptions {
  /** Job name (DNS-1123 label). */
  name: string;
  /** Grid points: completions. */
  completions: number;
  /** Pods at once. */
  parallelism: number;
  /** Container image with `andes-train` on its PATH. */
  image: string;
  /** PersistentVolumeClaim holding the sweep file and the sweep directory. */
  claim: string;
  /** Where the claim is mounted; the working directory of every pod. */
  mountPath: string;
  /** The sweep file, relative to the volume root. */
  configPath: string;
  /** Retries per index before the index counts as failed. */
  backoffLimitPerIndex: number;
  /** ANDES_BACKEND inside the pods. */
  backend: string;
}

/**
 * The Job object (batch/v1). Paths must be relative: the pods resolve them against the mount, the machine that emits
 * the Job against its working directory, and both must name the same files.
 *
 * @throws ConfigError for an absolute config path, a bad name or non-positive counts.
 */
export function indexedJob(options: IndexedJobOptions): Record<string, unknown> {
  if (isAbsolute(options.configPath))
    throw new ConfigError(
      `--emit k8s: the sweep file must be given relative to the shared volume's root, got ${options.configPath}`,
    );
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(options.name))
    throw new ConfigError(
      `--job-name: expected a DNS-1123 label (lowercase letters, digits, '-'), got ${options.name}`,
    );
  if (!(options.completions >= 1 && options.parallelism >= 1))
    throw new ConfigError('--emit k8s: the grid is empty or --jobs is below 1');
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: options.name, labels: { app: 'andes-sweep' } },
    spec: {
      completionMode: 'Indexed',
      completions: options.completions,
      parallelism: Math.min(options.parallelism, options.completions),
      backoffLimitPerIndex: options.backoffLimitPerIndex,
      template: {
        metadata: { labels: { app: 'andes-sweep', 'job-name': options.name } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'point',
              image: options.image,
              workingDir: options.mountPath,
              command: ['andes-train'],
              args: ['sweep', '--config', options.configPath, '--worker'],
              env: [{ name: 'ANDES_BACKEND', value: options.backend }],
              volumeMounts: [{ name: 'sweep', mountPath: options.mountPath }],
            },
          ],
          volumes: [{ name: 'sweep', persistentVolumeClaim: { claimName: options.claim } }],
        },
      },
    },
  };
}

/** The Job as YAML. */
export function indexedJobYaml(options: IndexedJobOptions): string {
  return `# andes-train sweep: one grid point per completion index (kubectl apply -f <this file>)\n${stringify(indexedJob(options))}`;
}
