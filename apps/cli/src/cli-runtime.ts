import type { Command } from "commander";
import type { DumontClient } from "@dumont/api-client";
import { readConfig, updateProfile, type ServerProfile } from "./config-store";
import { EventWaker } from "./event-waker";
import { Progress } from "./progress";

export const DEFAULT_API_URL = "http://127.0.0.1:8766";

export interface GlobalOptions {
  apiUrl: string;
  json: boolean;
}

/**
 * Error codes that mean the command line was wrong (exit 2), not that the operation failed (1):
 * the CLI's own USAGE, commander's parse errors, and a value the server refused as invalid.
 */
const USAGE_CODES = new Set(["USAGE", "VALIDATION_FAILED"]);

/** A failure the CLI explains itself (not from the API): what happened, and how to fix it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly code = "CLI_ERROR",
  ) {
    super(message);
  }
}

/**
 * Shared by every command: global options, the saved login, the API client (loaded lazily so
 * `dumont --help` never pays for it), output in human or JSON form, and the one error printer.
 */
export class CliRuntime {
  constructor(private readonly program: Command) {}

  get options(): GlobalOptions {
    const opts = this.program.opts<{ apiUrl?: string; json?: boolean }>();
    return {
      apiUrl: (opts.apiUrl || process.env.DUMONT_API_URL || DEFAULT_API_URL).replace(/\/+$/, ""),
      json: Boolean(opts.json),
    };
  }

  profile(): ServerProfile {
    return readConfig().servers[this.options.apiUrl] ?? {};
  }

  saveProfile(change: (profile: ServerProfile) => ServerProfile): void {
    updateProfile(this.options.apiUrl, change);
  }

  /** DUMONT_TOKEN (an API key, for scripts) wins over the saved login. */
  token(): string | undefined {
    return process.env.DUMONT_TOKEN || this.profile().token;
  }

  async client(options: { anonymous?: boolean; timeoutMs?: number } = {}): Promise<DumontClient> {
    const { DumontClient } = await import("@dumont/api-client");
    const token = options.anonymous ? undefined : this.token();
    return new DumontClient({ baseUrl: this.options.apiUrl, token, timeoutMs: options.timeoutMs });
  }

  /** Wakes a wait loop on each transition of `resourceId` (the server's event stream). Close it after. */
  waker(resourceId: string): EventWaker {
    return new EventWaker(this.options.apiUrl, this.token(), resourceId);
  }

  /** Progress for a long wait: on stderr, silent with --json (stdout is then the one JSON answer). */
  progress(): Progress {
    return new Progress(!this.options.json);
  }

  /** Prints `human()` normally, or `data` as JSON with --json. */
  print(data: unknown, human: () => string): void {
    if (this.options.json) process.stdout.write(JSON.stringify(data, null, 2) + "\n");
    else process.stdout.write(human() + "\n");
  }

  /** Wraps a command's action: errors become the standard message and exit code 1. */
  action<TArgs extends unknown[]>(fn: (...args: TArgs) => Promise<void>): (...args: TArgs) => Promise<void> {
    return async (...args: TArgs) => {
      try {
        await fn(...args);
      } catch (error) {
        this.fail(error);
      }
    };
  }

  fail(error: unknown): never {
    const e = error as {
      code?: string;
      message?: string;
      hint?: string;
      status?: number;
      details?: unknown;
      requestId?: string;
    };
    const code = typeof e.code === "string" ? e.code : "CLI_ERROR";
    const message = e.message ?? String(error);
    if (this.options.json) {
      const body = { error: { code, message, details: e.details ?? {}, hint: e.hint, request_id: e.requestId } };
      process.stdout.write(JSON.stringify(body, null, 2) + "\n");
    } else {
      const lines = [`Error: ${message}`, `  code: ${code}${e.status ? ` (HTTP ${e.status})` : ""}`];
      if (e.hint) lines.push(`  how to fix: ${e.hint}`);
      if (e.requestId) lines.push(`  request id: ${e.requestId}`);
      process.stderr.write(lines.join("\n") + "\n");
    }
    // A command line the CLI could not make sense of is a usage error (2), like commander's own.
    process.exit(USAGE_CODES.has(code) ? 2 : 1);
  }
}
