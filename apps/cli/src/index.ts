/** @module The `dumont` command line. */
export { main, buildProgram } from "./main";
