import { describe, expect, it } from 'vitest';
import type { CallFacts } from '../core/index.js';
import { isAudited, recordOfCall, recordOfEvent, scrub } from './record.js';

const root = { kind: 'root', arn: 'arn:aws:iam::000000000000:root', accountId: '000000000000', accessKeyId: 'AKIAROOT' };

describe('what is audited', () => {
  const call = (operation: string, door = 'ecr'): CallFacts => ({ door, operation, principal: root });

  it('every mutating call, every pull, credentials handed out, and every denial', () => {
    expect(isAudited(call('PutImage'), 'POST', 200)).toBe(true);
    expect(isAudited(call('BatchGetImage'), 'POST', 200)).toBe(true);
    expect(isAudited(call('GetAuthorizationToken'), 'POST', 200)).toBe(true);
    expect(isAudited(call('DescribeImages'), 'POST', 200)).toBe(false);
    expect(isAudited(call('ListImages'), 'POST', 400)).toBe(false);
    expect(isAudited({ ...call('DescribeImages'), decisions: [{ action: 'ecr:DescribeImages', resource: '*', effect: 'ImplicitDeny', reason: 'r' }] }, 'POST', 400)).toBe(true);
    expect(isAudited(call('BatchGetImage', 'oci'), 'GET', 200)).toBe(true);
    expect(isAudited(call('BatchGetImage', 'oci'), 'HEAD', 200)).toBe(false);
    expect(isAudited(call('GetDownloadUrlForLayer', 'oci'), 'GET', 200)).toBe(false);
    expect(isAudited(call('CreateAccessKey', 'iam'), 'POST', 200)).toBe(true);
    // Anonymous requests (the 401 challenge of every docker login) are not.
    expect(isAudited({ door: 'oci', operation: 'Ping' }, 'GET', 401)).toBe(false);
  });
});

describe('scrub', () => {
  it('hides secrets and bulky values, keeps the rest', () => {
    expect(
      scrub({
        repositoryName: 'a',
        nextToken: 'page',
        SecretAccessKey: 's',
        authorizationData: [{ authorizationToken: 't', proxyEndpoint: 'p' }],
        sessions: [{ SessionToken: 't', Expiration: 'e' }],
        layerPartBlob: 'x'.repeat(10),
        imageManifest: 'm'.repeat(5000),
        Password: 'p',
      }),
    ).toEqual({
      repositoryName: 'a',
      nextToken: 'page',
      SecretAccessKey: 'HIDDEN_DUE_TO_SECURITY_REASONS',
      authorizationData: 'HIDDEN_DUE_TO_SECURITY_REASONS',
      sessions: [{ SessionToken: 'HIDDEN_DUE_TO_SECURITY_REASONS', Expiration: 'e' }],
      layerPartBlob: '[10 characters]',
      imageManifest: '[5000 characters]',
      Password: 'HIDDEN_DUE_TO_SECURITY_REASONS',
    });
  });
});

describe('records', () => {
  it('a denied call carries the decision, its reason and the matched statement', () => {
    const r = recordOfCall(
      { requestId: 'req-1', sourceIp: '10.0.0.1' },
      {
        door: 'ecr',
        operation: 'PutImage',
        principal: { kind: 'user', arn: 'arn:aws:iam::000000000000:user/u', accountId: '000000000000', accessKeyId: 'AKIAU', userName: 'u' },
        repository: { accountId: '000000000000', name: 'team/app' },
        params: { repositoryName: 'team/app' },
        decisions: [{ action: 'ecr:PutImage', resource: 'arn:aws:ecr:r:000000000000:repository/team/app', effect: 'Deny', reason: "explicit deny in repository policy statement 'NoPush'", statement: 'repository policy#NoPush' }],
      },
      { status: 400, errorCode: 'AccessDeniedException', errorMessage: 'User: ... is not authorized', userAgent: 'aws-sdk-js' },
      'eu-west-1',
      Date.parse('2026-01-01T00:00:00Z'),
    );
    expect(r).toMatchObject({
      eventTime: '2026-01-01T00:00:00.000Z',
      eventSource: 'ecr.amazonaws.com',
      awsRegion: 'eu-west-1',
      sourceIPAddress: '10.0.0.1',
      userAgent: 'aws-sdk-js',
      userIdentity: { type: 'IAMUser', principalId: 'u', userName: 'u' },
      errorCode: 'AccessDeniedException',
      requestID: 'req-1',
      readOnly: false,
      resources: [{ ARN: 'arn:aws:ecr:eu-west-1:000000000000:repository/team/app', type: 'AWS::ECR::Repository' }],
      decision: 'deny',
      decisionReason: "explicit deny in repository policy statement 'NoPush'",
      matchedStatement: 'repository policy#NoPush',
    });
  });

  it('a background action is a service event of the capability', () => {
    const r = recordOfEvent({ type: 'lifecycle.expired', accountId: '000000000000', repository: 'a', digest: 'sha256:1', at: 0, requestId: 'job-1', detail: { rulePriority: 1 } }, 'r');
    expect(r).toMatchObject({
      eventName: 'PolicyExecutionEvent',
      eventType: 'AwsServiceEvent',
      userIdentity: { type: 'AWSService', invokedBy: 'berth.lifecycle' },
      requestID: 'job-1',
      serviceEventDetails: { type: 'lifecycle.expired', digest: 'sha256:1', repositoryName: 'a', detail: { rulePriority: 1 } },
    });
  });
});
