import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * One AWS wire protocol served at `POST /`. AWS gives each service its own host; berth serves them
 * all on one, and the protocols tell themselves apart by content type: ECR speaks JSON 1.1
 * (`application/x-amz-json-1.1`), IAM and STS the Query protocol (`application/x-www-form-urlencoded`).
 */
export interface AwsDoor {
  /** The media type of this door's requests, lower case, without parameters. */
  readonly contentType: string;
  /**
   * For doors that share a content type (ECR and Secrets Manager both speak JSON 1.1): the
   * `X-Amz-Target` prefix of this door's operations (`secretsmanager.`), which is checked first.
   */
  readonly targetPrefix?: string;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** Answer the request; `req.body` is the raw body as a Buffer (SigV4 signs the exact bytes). */
  handle(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>;
  /** Answer `err` in this protocol's error shape. */
  sendError(reply: FastifyReply, err: unknown): FastifyReply;
}

export interface AwsRouterOptions {
  /** The first door also answers requests of any other content type (with its own errors). */
  doors: readonly [AwsDoor, ...AwsDoor[]];
}

/**
 * Registers the one `POST /` route (Fastify allows a route once) and hands each request to the
 * door of its content type. Errors thrown before or inside a handler, Fastify's own included
 * (body too large, unknown content type), are answered by the same door, so a caller always
 * gets the error shape its SDK parses.
 */
export async function awsRouter(app: FastifyInstance, opts: AwsRouterOptions): Promise<void> {
  const { doors } = opts;
  for (const type of new Set(doors.map((door) => door.contentType))) {
    const bodyLimit = Math.max(...doors.filter((door) => door.contentType === type).map((door) => door.bodyLimit));
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  }
  const doorFor = (req: FastifyRequest): AwsDoor => {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const byTarget = doors.find((door) => door.targetPrefix !== undefined && target.startsWith(door.targetPrefix));
      if (byTarget) return byTarget;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    return doors.find((door) => door.contentType === type && door.targetPrefix === undefined) ?? doors.find((door) => door.contentType === type) ?? doors[0];
  };
  app.setErrorHandler((err, req, reply) => doorFor(req).sendError(reply, err));
  app.post('/', (req, reply) => doorFor(req).handle(req, reply));
}
