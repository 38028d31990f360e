import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  rmSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { join, sep } from "node:path";
import { DumontError, confineRemotePath } from "@dumont/core";

/** The parts of a resource's store; each is a directory of its own. */
export type StoreArea = "outputs" | "checkpoint";

/** Resource ids are ours (`job_…`), but they name directories: refuse anything else outright. */
const RESOURCE_ID = /^[a-z]+_[A-Za-z0-9_-]{1,64}$/;

export interface StoredFile {
  /** The file's path on the machine it came from, e.g. `/workspace/output/model.bin`. */
  path: string;
  size: number;
}

/**
 * The directory that holds what one resource brought back from its machines, e.g.
 * `DUMONT_HOME/jobs/<id>`. Everything inside came from a hostile machine, so paths into it are
 * computed here and verified after resolution, nothing in it is ever followed as a link, and
 * what is served back is opened without following links and checked to lie inside.
 * Directories are 0700 and files 0600: the store is the control plane's, not the world's.
 */
export class ResourceStore {
  readonly root: string;

  constructor(base: string, resourceId: string) {
    if (!RESOURCE_ID.test(resourceId)) throw new RangeError(`not a resource id: ${JSON.stringify(resourceId)}`);
    this.root = join(base, resourceId);
  }

  /** The store's own directory, created 0700. */
  ensureRoot(): string {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    return this.root;
  }

  /** A file directly in the store's root (the log), by a fixed name of ours. */
  file(name: string): string {
    if (!/^[\w.-]+$/.test(name) || name.startsWith(".")) throw new RangeError(`not a store file name: ${name}`);
    return join(this.root, name);
  }

  areaDir(area: StoreArea): string {
    return join(this.root, area);
  }

  /**
   * Where a copy of the remote `path` lands in `area` (the remote path below the area, so
   * `/workspace/output` → `<area>/workspace/output`). The path is confined first (under
   * /workspace, no `..`), and every directory on the way that already exists must be a real
   * directory inside the store, not a link.
   */
  landingPath(area: StoreArea, remotePath: string): string {
    const confined = confineRemotePath(remotePath);
    const target = join(this.areaDir(area), ...confined.split("/").filter(Boolean));
    this.assertInside(target);
    return target;
  }

  /** Every plain file in `area` with its remote path and size; links and other kinds are skipped, never followed. */
  listFiles(area: StoreArea): StoredFile[] {
    const files: StoredFile[] = [];
    for (const entry of this.walk(area)) if (entry.kind === "file") files.push({ path: entry.path, size: entry.size });
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * Bytes and entries in `area`: every entry counts, directories too (a million empty directories
   * fill a disk's inodes as surely as files). With `stopAbove`, the walk ends as soon as either
   * count passes it, so a watchdog never walks a huge tree to the end.
   */
  usage(area: StoreArea, stopAbove?: { bytes: number; entries: number }): { bytes: number; entries: number } {
    let bytes = 0;
    let entries = 0;
    for (const entry of this.walk(area)) {
      entries += 1;
      bytes += entry.size;
      if (stopAbove && (bytes > stopAbove.bytes || entries > stopAbove.entries)) break;
    }
    return { bytes, entries };
  }

  /**
   * Everything below `area`, without following links: directories, plain files with their size,
   * anything else as `other`. Tolerates entries vanishing mid-walk (a copy is running).
   */
  private *walk(area: StoreArea): Generator<{ kind: "file" | "dir" | "other"; path: string; size: number }> {
    const pending: [string, string][] = [[this.areaDir(area), ""]];
    for (let next = pending.pop(); next; next = pending.pop()) {
      const [dir, prefix] = next;
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        const path = `${prefix}/${entry.name}`;
        if (entry.isDirectory()) {
          pending.push([full, path]);
          yield { kind: "dir", path, size: 0 };
          continue;
        }
        let size = 0;
        try {
          size = lstatSync(full).size;
        } catch {
          continue; // rsync renamed or removed it between the listing and the stat
        }
        yield { kind: entry.isFile() ? "file" : "other", path, size };
      }
    }
  }

  /**
   * After a copy: anything that is not a plain file or a directory goes, and every mode is reset
   * to 0600/0700, whatever the copy tool did. A second line of defence behind rsync's flags.
   */
  scrub(area: StoreArea): { removed: string[] } {
    const removed: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        const stat = lstatSync(full);
        if (stat.isDirectory()) {
          if ((stat.mode & 0o7777) !== 0o700) chmodNoFollow(full, 0o700);
          walk(full);
        } else if (stat.isFile()) {
          if ((stat.mode & 0o7777) !== 0o600) chmodNoFollow(full, 0o600);
        } else {
          removed.push(full.slice(this.areaDir(area).length));
          rmSync(full, { force: true }); // on a link this removes the link, never its target
        }
      }
    };
    try {
      walk(this.areaDir(area));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return { removed };
  }

  async clear(area: StoreArea): Promise<void> {
    await rm(this.areaDir(area), { recursive: true, force: true });
  }

  /**
   * Opens a stored file for reading by its remote path: confined, inside the area after
   * resolution, a plain file, and opened with O_NOFOLLOW so a link planted in between cannot
   * redirect it. Anything else reads as missing.
   */
  openFile(area: StoreArea, remotePath: string): { fd: number; size: number } | null {
    let target: string;
    try {
      target = this.landingPath(area, remotePath.startsWith("/") ? remotePath : `/${remotePath}`);
    } catch {
      return null;
    }
    let fd: number;
    try {
      fd = openSync(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return null;
    }
    try {
      const stat = fstatSync(fd);
      const real = realpathSync(target);
      if (!stat.isFile() || !isInside(realpathSync(this.areaDir(area)), real)) {
        closeSync(fd);
        return null;
      }
      return { fd, size: stat.size };
    } catch {
      closeSync(fd);
      return null;
    }
  }

  /** Throws unless `target`, and every part of it that exists, is inside the store and not a link. */
  private assertInside(target: string): void {
    if (!isInside(this.root, target)) throw outside(target);
    let current = this.root;
    for (const part of target.slice(this.root.length + 1).split(sep)) {
      current = join(current, part);
      let stat;
      try {
        stat = lstatSync(current);
      } catch {
        return; // the rest does not exist yet: the copy creates it, as plain directories
      }
      if (stat.isSymbolicLink()) throw outside(target);
    }
  }
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

function outside(target: string): DumontError {
  return new DumontError({ code: "VALIDATION_FAILED", message: `refusing a path that leaves its store: ${target}` });
}

/** Opens without following, then sets the mode on what was opened: a link swapped in is not followed. */
function chmodNoFollow(path: string, mode: number): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}
