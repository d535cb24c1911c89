/**
 * The skills extension (SEP-2640, `io.modelcontextprotocol/skills`) through the runtime's call path:
 * SDK v2's `SkillsClient` on the server's Client, each request admitted by the queue and the breaker
 * like any other (`skills/list` is a list, a skill file read is a `resources/read`: both retried on
 * transient failures). Every file read is checked by the SDK against the skill's entry (listed,
 * size, sha256 digest, and for `SKILL.md` the frontmatter); a file that fails is never returned:
 * the call rejects with PROTOCOL whose `cause` is the SDK's `SkillVerificationError` (its `reason`
 * says which check). Nothing is fetched ahead of need: no read on connect, on listing or here
 * unless asked for.
 */
import type { Client, RequestOptions } from '@modelcontextprotocol/client';
import { type Skill, type SkillFile, SkillsClient } from '@modelcontextprotocol/client/ext/skills';
import { ValidationError } from '../errors/index.js';

export type { Skill, SkillFile } from '@modelcontextprotocol/client/ext/skills';

/** How the facade runs one request on a server (queue, breaker, retries): `ServerHandle.call`. */
export type SkillsCall = <T>(
  operation: string,
  run: (client: Client, opts: RequestOptions) => Promise<T>,
) => Promise<T>;

/** Every skill the server lists (all pages); empty when the server does not declare the extension. */
export function listSkills(call: SkillsCall): Promise<Skill[]> {
  return call('skills/list', async (client, opts) => {
    const skills = new SkillsClient(client);
    // Checked here so that a server without the extension is not a console message of the SDK's.
    return skills.supported ? (await skills.list({}, opts)).skills : [];
  });
}

/**
 * Reads one file of a skill and verifies it. `skill` is an entry from {@link listSkills}, or its
 * name or `SKILL.md` URI (then the server's list is read first, to hold the entry the file is
 * checked against). `ref` is a path relative to the skill's root or an absolute URI; default: the
 * skill's own `SKILL.md`.
 */
export async function readSkill(
  call: SkillsCall,
  server: string,
  skill: Skill | string,
  ref?: string,
): Promise<SkillFile> {
  const entry = typeof skill === 'string' ? await findSkill(call, server, skill) : skill;
  return call(`resources/read ${ref ?? entry.uri}`, (client, opts) =>
    new SkillsClient(client).read(entry, ref, opts),
  );
}

async function findSkill(call: SkillsCall, server: string, nameOrUri: string): Promise<Skill> {
  const found = (await listSkills(call)).find((s) => s.frontmatter.name === nameOrUri || s.uri === nameOrUri);
  if (!found)
    throw new ValidationError(`${server} lists no skill named ${JSON.stringify(nameOrUri)}`, 'skill', {
      server,
    });
  return found;
}
