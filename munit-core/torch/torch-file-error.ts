// The one error type of the PyTorch file reader: every way a file can be unreadable (truncated, corrupt, hostile,
// or a kind of pickle a state dict never holds) ends here, with the file's name, so callers and tests can tell
// "this file is bad" from a bug.
export class TorchFileError extends Error {
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = 'TorchFileError';
  }
}
