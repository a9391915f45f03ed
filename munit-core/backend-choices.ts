// The tfjs backends a person can ask for, in the order start-up tries them. Apart from backend.ts (which loads tfjs)
// so that the extension's settings can name them too.
export const BACKEND_CHOICES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The environment variable that forces a backend (same values as `BackendChoice`). */
export const BACKEND_ENV = 'MUNIT_BACKEND';
