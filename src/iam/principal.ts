/** Who is calling: resolved once per request by the authenticator. */
export interface Principal {
  readonly kind: 'root' | 'user' | 'assumed-role';
  readonly accountId: string;
  readonly arn: string;
  /**
   * The long-term key behind the request. For temporary credentials (GetSessionToken,
   * AssumeRole) it is the key that asked for them: deactivating it ends the session too.
   */
  readonly accessKeyId: string;
  readonly userName?: string;
  /** Set when the caller signed with temporary credentials (STS GetSessionToken or AssumeRole). */
  readonly viaSession?: boolean;
  /** For 'assumed-role': the role's name, as stored. */
  readonly roleName?: string;
  /** For 'assumed-role': the role's ARN, path included (`arn:aws:iam::<acct>:role/<path><name>`). */
  readonly roleArn?: string;
  /**
   * For 'assumed-role': the role's unique id (`AROA…`). A session of a role that was deleted and
   * created again under the same name is not a session of the new role (IAM compares ids too).
   */
  readonly roleId?: string;
  /** For 'assumed-role': the RoleSessionName the caller chose (the last part of `arn`). */
  readonly sessionName?: string;
}

/** The resource a request acts on, named as in ECR. */
export interface ResourceRef {
  readonly accountId: string;
  readonly repositoryName?: string;
}
