/** Who is calling: resolved once per request by the authenticator. */
export interface Principal {
  readonly kind: 'root' | 'user' | 'assumed-role';
  readonly accountId: string;
  readonly arn: string;
  readonly accessKeyId: string;
  readonly userName?: string;
  /** Set when the caller signed with temporary credentials (STS GetSessionToken). */
  readonly viaSession?: boolean;
}

/** The resource a request acts on, named as in ECR. */
export interface ResourceRef {
  readonly accountId: string;
  readonly repositoryName?: string;
}
