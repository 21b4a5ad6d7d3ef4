// How every test (and the browser test config) launches Debian's Chromium: one path and one set of flags, so a flag
// learnt the hard way (TOOLCHAIN.md) is changed in one place.

/** Debian's Chromium, or `CHROMIUM_PATH`. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless, and quiet on this machine's closed network (no background connections, no QUIC). */
export const chromiumHeadlessArgs = [
  '--headless=new',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * The headless flags plus WebGPU on lavapipe through ANGLE's Vulkan backend. Launch with
 * `ignoreDefaultArgs: ['--headless']` so Playwright's own headless flag does not replace `--headless=new`.
 */
export const chromiumWebGpuArgs = [
  chromiumHeadlessArgs[0]!,
  '--use-angle=vulkan',
  '--use-webgpu-adapter=opengles',
  '--enable-unsafe-webgpu',
  ...chromiumHeadlessArgs.slice(1),
];
