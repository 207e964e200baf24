// Routes of the controller quorum: GET /v1/quorum shows the quorum as this controller sees it
// (members, leader, term, commit and applied index; each member's lag when the leader answers),
// and two internal routes are the leader's end of forwarding: a follower posts the commands it
// was asked to commit, and asks for a read index before serving a linearizable read.
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerDeps } from '../app.ts';
import { ForwardedCommand, ReadIndexAnswer } from '../raft-command-log.ts';
import { RequestInvalid } from './problem.ts';
import { json, problems } from './schemas.ts';

const QuorumMemberView = z
  .object({
    controllerId: z.number().int(),
    adminUrl: z.string().nullable(),
    matchIndex: z.number().int().nullable().openapi({
      description:
        'Highest log index the leader knows this member holds; null unless the leader answers.',
    }),
    lagEntries: z.number().int().nullable().openapi({
      description: "Entries of the leader's log this member lacks; null unless the leader answers.",
    }),
  })
  .openapi('QuorumMember');

const QuorumView = z
  .object({
    controllerId: z.number().int().openapi({ description: 'The controller that answered.' }),
    role: z.enum(['leader', 'follower', 'pre-candidate', 'candidate']),
    term: z.number().int(),
    leaderId: z.number().int().nullable(),
    leaderAdminUrl: z.string().nullable(),
    commitIndex: z.number().int(),
    appliedIndex: z.number().int(),
    lastIndex: z.number().int(),
    snapshotIndex: z.number().int(),
    members: z.array(QuorumMemberView),
  })
  .openapi('Quorum');

/** A command as a follower forwards it; the answer is its CommandResult. */
const ForwardedCommandBody = ForwardedCommand.extend({
  command: z.record(z.string(), z.unknown()).openapi({ description: 'A control-plane command.' }),
}).openapi('ForwardedCommand');

const quorum = createRoute({
  method: 'get',
  path: '/v1/quorum',
  responses: { 200: json(QuorumView, 'The quorum as this controller sees it.') },
});

const forwardCommand = createRoute({
  method: 'post',
  path: '/internal/v1/quorum/commands',
  request: { body: { ...json(ForwardedCommandBody), required: true } },
  responses: {
    200: json(z.record(z.string(), z.unknown()), 'Committed and applied on the leader.'),
    ...problems(400, 503),
  },
});

const readIndex = createRoute({
  method: 'get',
  path: '/internal/v1/quorum/read-index',
  responses: {
    200: json(ReadIndexAnswer.openapi('ReadIndex'), 'Apply this index, then read.'),
    ...problems(503),
  },
});

export function registerQuorumRoutes(app: OpenAPIHono, deps: ControllerDeps): void {
  const { quorum: member } = deps;

  app.openapi(quorum, (c) => c.json(member.status(), 200));

  app.openapi(forwardCommand, async (c) => {
    // The schema above only describes the body; the command's own schema checks it.
    const parsed = ForwardedCommand.safeParse(c.req.valid('json'));
    if (!parsed.success) throw new RequestInvalid(parsed.error);
    return c.json(await member.proposeAsLeader(parsed.data.command), 200);
  });

  app.openapi(readIndex, async (c) => c.json({ index: await member.readIndexAsLeader() }, 200));
}
