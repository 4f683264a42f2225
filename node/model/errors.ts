// Errors of the model engine; each names the file and what is wrong with it.

/** The file cannot be read, or is not a model of a known format. */
export class ModelFileError extends Error {
  override readonly name = "ModelFileError";
}

/** The file is readable but its content is unusable: truncated, unknown dtype, missing
 * tensor or key, unsupported architecture, inconsistent shapes. */
export class ModelFormatError extends Error {
  override readonly name = "ModelFormatError";
}

/** An execution provider (device) that this machine does not have was asked for. */
export class DeviceUnavailableError extends Error {
  override readonly name = "DeviceUnavailableError";
}
