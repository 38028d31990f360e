/**
 * Paths on a rented machine, as a user names them (`output_paths`, `checkpoint_path`) and as the
 * control plane uses them to compute where copies land. A path is accepted only in its plain
 * form: absolute, no `.` or `..` segments, no control characters, under the allowed root. It is
 * refused rather than "cleaned", so what the user wrote is exactly what is copied.
 */

/** Where a user's files live on every machine; transfers stay under it unless a feature says otherwise. */
export const WORKSPACE_ROOT = "/workspace";

export const REMOTE_PATH_MAX_LENGTH = 1024;

/** Why `path` is not a confined remote path under `root`, or `null` when it is one. */
export function remotePathProblem(path: string, root: string = WORKSPACE_ROOT): string | null {
  if (path.length === 0) return "is empty";
  if (path.length > REMOTE_PATH_MAX_LENGTH) return `is longer than ${REMOTE_PATH_MAX_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return "contains a control character";
  if (!path.startsWith("/")) return "is not absolute (it must start with /)";
  const segments = path.split("/").slice(1);
  if (segments.at(-1) === "") segments.pop(); // one trailing slash is harmless
  if (segments.some((s) => s === "." || s === "..")) return "contains a . or .. segment";
  if (segments.some((s) => s === "")) return "contains an empty segment (//)";
  const normalised = "/" + segments.join("/");
  if (normalised !== root && !normalised.startsWith(root + "/")) return `is not under ${root}`;
  return null;
}

/**
 * The path in its normal form (no trailing slash), or throws with the reason. Call sites that
 * already validated at the API boundary call it again before a copy: stored specs are data too.
 */
export function confineRemotePath(path: string, root: string = WORKSPACE_ROOT): string {
  const problem = remotePathProblem(path, root);
  if (problem !== null) throw new RangeError(`remote path ${JSON.stringify(path.slice(0, 200))} ${problem}`);
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}
