// ssh2 is CommonJS: Node's ESM loader sees only some of its named exports (not `Server` or
// `utils`), so the runtime values come from its default export. Types import from "ssh2" directly.
import ssh2 from "ssh2";

export const { Server: Ssh2Server, utils: ssh2Utils } = ssh2;
