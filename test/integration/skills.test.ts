/**
 * The skills extension (SEP-2640) through the runtime, against a real SDK v2 server serving skills
 * (`SkillsExtension` of `@modelcontextprotocol/server/ext/skills`) over Streamable HTTP, both eras.
 * Every skill file read is counted on the server: nothing may be fetched ahead of need.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { type Skill, SkillsExtension, skillEntry } from '@modelcontextprotocol/server/ext/skills';
import { afterEach, describe, expect, it } from 'vitest';
import { type StreamableHttpEndpoint, serveStreamableHttp } from '../../src/demo/streamable-http-endpoint.js';
import { createRuntime, type McpRuntime } from '../../src/index.js';

const MANIFEST =
  '---\nname: pdf-processing\ndescription: Extract, fill, and assemble PDF documents\n---\n\nSkill body.\n';
const GUIDE = 'Supporting content.\n';
const FILES = { 'SKILL.md': MANIFEST, 'references/GUIDE.md': GUIDE };

/** A server whose one skill's files are `served` (tampered when they differ from FILES); reads are recorded. */
async function skillsServer(
  served: Record<string, string>,
  reads: string[],
): Promise<StreamableHttpEndpoint> {
  const entry: Skill = await skillEntry('pdf-processing', FILES);
  const root = entry.uri.slice(0, -'SKILL.md'.length);
  const extension = new SkillsExtension({
    source: {
      list: async () => ({ skills: [entry] }),
      get: async (uri) => (uri === entry.uri ? entry : undefined),
      read: async (uri) => {
        reads.push(uri);
        const text = served[uri.slice(root.length)];
        return text === undefined ? undefined : { text, mimeType: 'text/markdown' };
      },
    },
    onWarning: () => {},
  });
  return serveStreamableHttp({
    port: 0,
    createServer: () => {
      const mcp = new McpServer({ name: 'skills-test', version: '1.0.0' });
      extension.attach(mcp);
      return mcp;
    },
  });
}

describe('skills (SEP-2640)', () => {
  let rt: McpRuntime | undefined;
  let endpoint: StreamableHttpEndpoint | undefined;
  afterEach(async () => {
    await rt?.close();
    await endpoint?.close();
    rt = undefined;
    endpoint = undefined;
  });

  for (const protocol of ['2026-07-28', '2025-11-25'] as const) {
    it(`lists without reading, then reads verified files on demand (${protocol})`, async () => {
      const reads: string[] = [];
      endpoint = await skillsServer(FILES, reads);
      rt = createRuntime({ servers: { s: { url: endpoint.url, protocol } } });
      const skills = await rt.listSkills('s');
      expect(skills.map((s) => s.frontmatter.name)).toEqual(['pdf-processing']);
      expect(reads).toEqual([]); // no prefetch: listing reads no file
      const manifest = await rt.readSkill('s', skills[0]!);
      expect(manifest).toMatchObject({ verified: true, text: MANIFEST, body: '\nSkill body.\n' });
      expect(manifest.frontmatter).toMatchObject({ name: 'pdf-processing' });
      const guide = await rt.readSkill('s', 'pdf-processing', 'references/GUIDE.md');
      expect(guide).toMatchObject({ verified: true, text: GUIDE });
      expect(reads).toHaveLength(2);
    });
  }

  it('a file that fails verification is not returned: PROTOCOL naming the check, no retry', async () => {
    const reads: string[] = [];
    endpoint = await skillsServer(
      { ...FILES, 'SKILL.md': MANIFEST.replace('Skill body.', 'Evil body!!') },
      reads,
    );
    rt = createRuntime({ servers: { s: { url: endpoint.url } } });
    const error = await rt.readSkill('s', 'pdf-processing').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROTOCOL', server: 's', cause: { reason: 'digest' } });
    expect(reads).toHaveLength(1);
    // A size mismatch is caught before the digest.
    await endpoint.close();
    endpoint = await skillsServer({ ...FILES, 'references/GUIDE.md': `${GUIDE}extra\n` }, reads);
    await rt.close();
    rt = createRuntime({ servers: { s: { url: endpoint.url } } });
    await expect(rt.readSkill('s', 'pdf-processing', 'references/GUIDE.md')).rejects.toMatchObject({
      code: 'PROTOCOL',
      cause: { reason: 'size' },
    });
  });

  it('an unknown skill name is VALIDATION; a server without the extension lists none', async () => {
    endpoint = await serveStreamableHttp({
      port: 0,
      createServer: () => new McpServer({ name: 'plain', version: '1.0.0' }),
    });
    rt = createRuntime({ servers: { s: { url: endpoint.url } } });
    expect(await rt.listSkills('s')).toEqual([]);
    await expect(rt.readSkill('s', 'nope')).rejects.toMatchObject({ code: 'VALIDATION', path: 'skill' });
  });
});
