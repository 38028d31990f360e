import { Command, CommanderError } from "commander";
import { CliRuntime } from "./cli-runtime";
import { registerServer } from "./commands/server";
import { registerMarket } from "./commands/market";
import { registerAuthRegister } from "./commands/auth/register";
import { registerAuthLogin } from "./commands/auth/login";
import { registerAuthLogout } from "./commands/auth/logout";
import { registerAuthMe } from "./commands/auth/me";
import { registerApiKeyCreate } from "./commands/auth/api-key-create";
import { registerApiKeyList } from "./commands/auth/api-key-list";
import { registerApiKeyRevoke } from "./commands/auth/api-key-revoke";
import { registerSettingsShow } from "./commands/settings/show";
import { registerSettingsSetVastKey } from "./commands/settings/set-vast-key";
import { registerSettingsSetGcpCredentials } from "./commands/settings/set-gcp-credentials";
import { registerBalance } from "./commands/balance";
import { registerInstanceOffers } from "./commands/instance/offers";
import { registerInstanceCreate } from "./commands/instance/create";
import { registerInstanceList } from "./commands/instance/list";
import { registerInstanceGet } from "./commands/instance/get";
import { registerInstanceLifecycle } from "./commands/instance/lifecycle";
import { registerInstanceSsh } from "./commands/instance/ssh";
import { registerInstanceCopy } from "./commands/instance/copy";
import { registerSshKeyAdd } from "./commands/ssh-key/add";
import { registerSshKeyList } from "./commands/ssh-key/list";
import { registerSshKeyRemove } from "./commands/ssh-key/remove";
import { registerModelInstall } from "./commands/model/install";
import { registerHistorySummary } from "./commands/history/summary";
import { registerHistoryList } from "./commands/history/list";
import { registerHistoryStats } from "./commands/history/stats";
import { registerHistoryRankings } from "./commands/history/rankings";
import { registerBlacklistList } from "./commands/blacklist/list";
import { registerBlacklistAdd } from "./commands/blacklist/add";
import { registerBlacklistRemove } from "./commands/blacklist/remove";
import { registerBlacklistCheck } from "./commands/blacklist/check";
import { registerWizardDeploy } from "./commands/wizard/deploy";
import { registerJobCreate } from "./commands/job/create";
import { registerJobList } from "./commands/job/list";
import { registerJobStatus } from "./commands/job/status";
import { registerJobLogs } from "./commands/job/logs";
import { registerJobCancel } from "./commands/job/cancel";
import { registerJobWait } from "./commands/job/wait";
import { registerJobDownload } from "./commands/job/download";
import { registerWizardStatus } from "./commands/wizard/status";
import { registerWizardCancel } from "./commands/wizard/cancel";
import { registerAdminCreate } from "./commands/admin/create";
import { registerAdminInvite } from "./commands/admin/invite";
import { registerAdminUser } from "./commands/admin/user";
import { registerStandbyConfigure } from "./commands/standby/configure";
import { registerStandbyStatus } from "./commands/standby/status";
import { registerStandbyAssociations } from "./commands/standby/associations";
import { registerStandbyProvision } from "./commands/standby/provision";
import { registerStandbyGet } from "./commands/standby/get";
import { registerStandbyAction } from "./commands/standby/actions";
import { registerStandbyDelete } from "./commands/standby/delete";
import { registerStandbySyncs } from "./commands/standby/syncs";
import { registerStandbyPricing } from "./commands/standby/pricing";
import { registerStandbyReport } from "./commands/standby/report";
import { registerCompletion } from "./commands/completion";

declare const __DUMONT_VERSION__: string | undefined;

/**
 * Builds the command tree: `dumont <noun> <verb>`, one file per command. With `json`, commander's
 * own messages are kept off stderr: `main` prints the parse error as the one JSON answer instead.
 */
export function buildProgram(options: { json?: boolean } = {}): Command {
  const quiet = { writeErr: () => undefined, outputError: () => undefined };
  const program = new Command("dumont")
    .description("Dumont Cloud: rent GPUs on marketplaces and run your work on them")
    .version(typeof __DUMONT_VERSION__ === "string" ? __DUMONT_VERSION__ : "dev")
    .option("--api-url <url>", "Dumont server URL (env DUMONT_API_URL, default http://127.0.0.1:8766)")
    .option("--json", "machine-readable output (errors too)")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput(options.json ? quiet : {})
    .exitOverride();
  const cli = new CliRuntime(program);

  registerServer(program, cli);
  registerMarket(program, cli);

  const auth = program.command("auth").description("accounts, sessions and API keys");
  registerAuthRegister(auth, cli);
  registerAuthLogin(auth, cli);
  registerAuthLogout(auth, cli);
  registerAuthMe(auth, cli);
  const apiKey = auth.command("api-key").description("long-lived keys for scripts");
  registerApiKeyCreate(apiKey, cli);
  registerApiKeyList(apiKey, cli);
  registerApiKeyRevoke(apiKey, cli);

  const settings = program.command("settings").description("your settings on the server");
  registerSettingsShow(settings, cli);
  registerSettingsSetVastKey(settings, cli);
  registerSettingsSetGcpCredentials(settings, cli);

  registerBalance(program, cli);

  const instance = program.command("instance").description("rented GPU machines");
  registerInstanceOffers(instance, cli);
  registerInstanceCreate(instance, cli);
  registerInstanceList(instance, cli);
  registerInstanceGet(instance, cli);
  registerInstanceLifecycle(instance, cli, "pause");
  registerInstanceLifecycle(instance, cli, "resume");
  registerInstanceLifecycle(instance, cli, "delete");
  registerInstanceSsh(instance, cli);
  registerInstanceCopy(instance, cli);

  const sshKey = program.command("ssh-key").description("your public keys for SSH access to machines");
  registerSshKeyAdd(sshKey, cli);
  registerSshKeyList(sshKey, cli);
  registerSshKeyRemove(sshKey, cli);

  const model = program.command("model").description("models on your instances");
  registerModelInstall(model, cli);

  const wizard = program.command("wizard").description("deploy wizard: race offers, keep the first ready machine");
  registerWizardDeploy(wizard, cli);
  registerWizardStatus(wizard, cli);
  registerWizardCancel(wizard, cli);

  const job = program.command("job").description("run a command on a rented GPU, then destroy it");
  registerJobCreate(job, cli);
  registerJobList(job, cli);
  registerJobStatus(job, cli);
  registerJobLogs(job, cli);
  registerJobCancel(job, cli);
  registerJobWait(job, cli);
  registerJobDownload(job, cli);

  const standby = program
    .command("standby")
    .description("CPU standbys: a cheap machine kept in sync with a GPU instance, serving it when the GPU is lost");
  registerStandbyConfigure(standby, cli);
  registerStandbyStatus(standby, cli);
  registerStandbyAssociations(standby, cli);
  registerStandbyProvision(standby, cli);
  registerStandbyGet(standby, cli);
  for (const action of ["failover", "recover", "failback", "disable", "enable"] as const)
    registerStandbyAction(standby, cli, action);
  registerStandbyDelete(standby, cli);
  registerStandbySyncs(standby, cli);
  registerStandbyPricing(standby, cli);
  registerStandbyReport(standby, cli);

  const history = program.command("history").description("what we learned about marketplace hosts");
  registerHistorySummary(history, cli);
  registerHistoryList(history, cli);
  registerHistoryStats(history, cli);
  registerHistoryRankings(history, cli);

  const blacklist = program.command("blacklist").description("hosts to leave out of offers and the wizard");
  registerBlacklistList(blacklist, cli);
  registerBlacklistAdd(blacklist, cli);
  registerBlacklistRemove(blacklist, cli);
  registerBlacklistCheck(blacklist, cli);

  const admin = program.command("admin").description("run this server: operators, invites, spending caps");
  registerAdminCreate(admin, cli);
  registerAdminInvite(admin, cli);
  registerAdminUser(admin, cli);

  registerCompletion(program, cli);
  return program;
}

/** `--json` anywhere before `--`: known before commander has parsed anything (a parse error may stop it). */
function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).includes("--json");
}

/**
 * Exit codes: 0 ok, 1 the operation failed, 2 the command line was wrong (commander's parse
 * errors, a missing subcommand, the CLI's own USAGE errors). With --json every error, parse
 * errors included, is one `{"error":{code,message,…}}` object on stdout.
 */
export async function main(argv: string[]): Promise<void> {
  const json = wantsJson(argv);
  const program = buildProgram({ json });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok =
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        (error.code === "commander.help" && error.exitCode === 0);
      if (ok) process.exit(0);
      const message =
        error.code === "commander.help"
          ? "a command is needed here (see --help for the list)"
          : error.message.replace(/^error: /, "");
      if (json) printJsonError("USAGE", message, { commander_code: error.code }, "Run with --help for usage.");
      process.exit(2);
    }
    if (json) {
      printJsonError("CLI_ERROR", error instanceof Error ? error.message : String(error), {});
      process.exit(1);
    }
    throw error;
  }
}

function printJsonError(code: string, message: string, details: Record<string, unknown>, hint?: string): void {
  process.stdout.write(JSON.stringify({ error: { code, message, details, hint } }, null, 2) + "\n");
}
