// End-to-end scenario against a running Atelier server, with the TypeScript
// client over @connectrpc/connect-node's gRPC transport (HTTP/2, plaintext).
//
//   npm ci && npx tsc -p . && node dist/examples/scenario.js HOST:PORT
//
// The same steps as clients/python/examples/scenario.py: registry (create,
// add a SKILL.md version, publish, record a use, wait for the worker's
// count), workshop (create, complete a step with an output, render a
// Markdown build pack, download it as a server stream and find the output in
// it) and one INVALID_ARGUMENT decoded with AtelierError. Random slugs and
// users, so it can run again and again. Exits 1 on the first mismatch.
import { createHash, randomBytes } from "node:crypto";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AtelierError,
  createAtelierClients,
  registry,
  userHeaders,
  workshop,
  type AtelierClients,
} from "../src/index.js";

const TIMEOUT_MS = 30_000; // how long to wait for the asynchronous worker
const call = { timeoutMs: 10_000 };

class Mismatch extends Error {}

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Mismatch(what);
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function poll<T>(what: string, fetch: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  let delay = 50;
  for (;;) {
    const value = await fetch();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Mismatch(`${what}: still not there after ${TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}

async function registryPart(c: AtelierClients, run: string): Promise<void> {
  const slug = `ts-scenario-${run}`;
  const { skill } = await c.registry.createSkill(
    {
      slug,
      name: "Scenario skill",
      description: "Created by clients/typescript/examples/scenario.ts",
      category: registry.SkillCategory.PROMPT,
      requestId: `create-${run}`,
    },
    call,
  );
  check(skill !== undefined && skill.slug === slug && skill.id !== "", "CreateSkill returned the skill");
  check(skill.publishedVersion === undefined, "a new skill has no published version");

  const content = new TextEncoder().encode(
    `---\nname: Scenario skill\ndescription: Says hello\nlicense: MIT\n---\n# Scenario skill\nRun ${run}.\n`,
  );
  const created = await c.registry.createSkillVersion(
    { skillId: skill.id, content, contentType: "text/markdown", expectedSha256: sha256(content) },
    call,
  );
  const version = created.version;
  check(version?.version === 1, `first version is 1, got ${version?.version}`);
  check(version.sha256 === sha256(content), "version sha256");
  check(version.sizeBytes === BigInt(content.length), "version size");
  check(version.metadata?.["license"] === "MIT", `front matter license lands in metadata`);
  check(created.skill?.draftVersion === 1, "the new version is the draft");

  const published = (await c.registry.publishSkillVersion({ skillId: skill.id, version: 1 }, call)).skill;
  check(published?.publishedVersion === 1, "published_version is 1");
  check(published.draftVersion === undefined, "publishing the draft clears it");

  const use = (
    await c.registry.recordUsage(
      { skill: { case: "skillSlug", value: slug }, version: 1, toolName: "scenario.ts", requestId: `use-${run}` },
      call,
    )
  ).usageEvent;
  check(use?.skillId === skill.id && use.version === 1, "RecordUsage returned the use");

  const counted = await poll(
    "GetSkill total_uses == 1",
    async () => (await c.registry.getSkill({ selector: { case: "id", value: skill.id } }, call)).skill!,
    (s) => s.totalUses >= 1n,
  );
  check(counted.totalUses === 1n, `total_uses is exactly 1, got ${counted.totalUses}`);
  console.log(`registry: skill ${slug} v1 published, total_uses=${counted.totalUses}`);
}

async function workshopPart(c: AtelierClients, run: string): Promise<void> {
  const ws = (
    await c.workshop.createWorkshop(
      { title: `Scenario ${run}`, originalIdea: "Nurses lose an hour a shift to paper charts" },
      call,
    )
  ).workshop;
  check(ws?.status === workshop.WorkshopStatus.DRAFT, "new workshop is DRAFT");
  const first = ws.currentStepId;
  check(first === "empathize", `current step of a new workshop, got ${first}`);

  const persona = `Night-shift nurse ${run}`;
  const updated = await c.workshop.updateWorkshopStep(
    {
      workshopId: ws.id,
      stepId: first,
      status: workshop.StepStatus.COMPLETE,
      output: { persona, pains: ["paper charts", "double entry"] },
    },
    call,
  );
  check(updated.step?.status === workshop.StepStatus.COMPLETE, "step is COMPLETE");
  check(updated.step.output?.["persona"] === persona, "step output kept");
  check(updated.workshop?.currentStepId === "define", "current step moves on to define");
  check(updated.workshop.completedStepCount === 1, "one step complete");

  const pack = (
    await c.workshop.createBuildPack({ workshopId: ws.id, format: workshop.BuildPackFormat.MARKDOWN }, call)
  ).buildPack!;
  const ready = await poll(
    "build pack READY",
    async () => (await c.workshop.getBuildPack({ id: pack.id }, call)).buildPack!,
    (p) => p.status !== workshop.BuildPackStatus.PENDING,
  );
  check(
    ready.status === workshop.BuildPackStatus.READY,
    `build pack status ${workshop.BuildPackStatus[ready.status]}: ${ready.failureReason}`,
  );

  const chunks: Uint8Array[] = [];
  let header: workshop.BuildPack | undefined;
  let messages = 0;
  for await (const msg of c.workshop.readBuildPackContent({ id: pack.id }, call)) {
    if (messages++ === 0) {
      check(msg.buildPack !== undefined, "the first message carries the build pack");
      header = msg.buildPack;
    }
    chunks.push(msg.chunk);
  }
  check(header !== undefined, "the content stream sent at least one message");
  const body = Buffer.concat(chunks);
  check(BigInt(body.length) === ready.sizeBytes, `size ${body.length} != ${ready.sizeBytes}`);
  check(sha256(body) === ready.sha256, "content sha256 matches");
  const text = body.toString("utf8");
  check(text.startsWith(`# Scenario ${run}`), `pack starts with the title: ${JSON.stringify(text.slice(0, 80))}`);
  check(text.includes(persona), `the pack holds the step output ${JSON.stringify(persona)}`);
  console.log(`workshop: step ${first} complete, ${body.length}-byte Markdown pack holds its output`);
}

async function errorPart(c: AtelierClients, run: string): Promise<void> {
  let err: AtelierError | undefined;
  try {
    await c.registry.createSkill(
      { slug: `ts-bad-${run}`, name: "", description: "no name", category: registry.SkillCategory.PROMPT },
      call,
    );
  } catch (e) {
    err = AtelierError.from(e);
  }
  check(err !== undefined, "CreateSkill with an empty name succeeded");
  check(err.code === Code.InvalidArgument, `code ${err.codeName}`);
  check(err.domain === "atelier", `ErrorInfo.domain ${err.domain}`);
  check(err.reason === "INVALID_ARGUMENT", `ErrorInfo.reason ${err.reason}`);
  check(err.fields.length === 1 && err.fields[0] === "name", `BadRequest fields ${err.fields}`);
  const v = err.violation("name");
  check(v?.description === "must not be empty", `violation ${JSON.stringify(v)}`);
  console.log(`error: ${err.codeName} reason=${err.reason} field=${v.field} (${v.description})`);
}

async function main(argv: string[]): Promise<number> {
  if (argv.length !== 1) {
    console.error("usage: node dist/examples/scenario.js HOST:PORT");
    return 2;
  }
  const run = randomBytes(4).toString("hex");
  const transport = createGrpcTransport({
    baseUrl: `http://${argv[0]}`,
    interceptors: [userHeaders({ userId: `ts-scenario-${run}` })],
  });
  const c = createAtelierClients(transport);
  try {
    await registryPart(c, run);
    await workshopPart(c, run);
    await errorPart(c, run);
  } catch (e) {
    if (e instanceof Mismatch) {
      console.error(`MISMATCH: ${e.message}`);
    } else if (!(e instanceof ConnectError)) {
      console.error("UNEXPECTED ERROR:", e);
    } else {
      const err = AtelierError.from(e);
      console.error(`UNEXPECTED RPC ERROR: ${err.codeName}: ${err.rawMessage} reason=${err.reason}`);
    }
    return 1;
  }
  console.log("typescript scenario: ok");
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
