/**
 * Live-tensor and byte counters behind `memory()`. Views count as tensors but share their storage's bytes.
 *
 * @module
 */
import type { BackendName } from './backend/backend.js';
import { currentBackendName } from './backend/registry.js';

/** What `memory()` reports. */
export interface MemoryInfo {
  /** Live (not disposed) Tensor objects, views included. */
  tensors: number;
  /** Bytes of storages referenced by live tensors (each storage counted once). */
  bytes: number;
  /** Highest `bytes` seen since the process started. */
  peakBytes: number;
  /** The current backend's name. */
  backend: BackendName;
}

let tensors = 0;
let bytes = 0;
let peakBytes = 0;

/** Adjusts the live-tensor count (internal). */
export function countTensors(delta: number): void {
  tensors += delta;
}

/** Adjusts the live-storage bytes and the peak (internal). */
export function countBytes(delta: number): void {
  bytes += delta;
  if (bytes > peakBytes) peakBytes = bytes;
}

/** Live tensors, bytes of their storages, the peak bytes, and the current backend. Tests assert these stay flat. */
export function memory(): MemoryInfo {
  return { tensors, bytes, peakBytes, backend: currentBackendName() };
}
