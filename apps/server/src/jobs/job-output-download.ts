import { createReadStream } from "node:fs";
import { basename } from "node:path";
import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../server-context";
import { authenticateHook } from "../http/register-routes";

/** `GET /api/v1/jobs/{id}/outputs/<path>`: one collected file, streamed as bytes. */
export function registerJobOutputDownload(app: FastifyInstance, ctx: ServerContext): void {
  app.route({
    method: "GET",
    url: "/api/v1/jobs/:id/outputs/*",
    schema: {
      operationId: "downloadJobOutput",
      summary: "Download one output file",
      tags: ["jobs"],
      security: [{ bearer: [] }],
    },
    preValidation: authenticateHook(ctx.auth),
    handler: async (request, reply) => {
      const params = request.params as { id: string; "*": string };
      const principal = request.principal;
      if (!principal) throw new Error("authenticated route without principal");
      const path = params["*"];
      // Streams from the descriptor that was checked (no second open by name, so no link swap).
      const file = await ctx.jobs.openOutput(principal.user.id, params.id, path);
      const name = basename(path).replace(/[^\w.+-]/g, "_") || "output";
      return reply
        .type("application/octet-stream")
        .header("content-length", String(file.size))
        .header("content-disposition", `attachment; filename="${name}"`)
        .send(createReadStream("", { fd: file.fd, autoClose: true }));
    },
  });
}
