/**
 * AWS managed policies that berth knows: Amazon ECR's, by their real ARNs and documents (the AWS
 * Managed Policy Reference, and the ECR User Guide, "AWS managed policies for Amazon Elastic
 * Container Registry"). They can be attached to users and roles in every account and read with
 * GetPolicy and GetPolicyVersion; they cannot be changed or deleted.
 *
 * berth serves each as one version, `v1`, holding AWS's current document: AWS's own version
 * numbers (ReadOnly and PowerUser are at v3) record edits that berth never had.
 */
export interface AwsManagedPolicy {
  readonly arn: string;
  readonly policyName: string;
  /** Stable per policy, in AWS's shape (`ANPA…`); not AWS's own ids. */
  readonly policyId: string;
  readonly path: '/';
  readonly description: string;
  readonly defaultVersionId: 'v1';
  readonly document: string;
}

const AWS_MANAGED_PREFIX = 'arn:aws:iam::aws:policy/';

const READ_ONLY_ACTIONS = [
  'ecr:GetAuthorizationToken',
  'ecr:BatchCheckLayerAvailability',
  'ecr:GetDownloadUrlForLayer',
  'ecr:GetRepositoryPolicy',
  'ecr:DescribeRepositories',
  'ecr:ListImages',
  'ecr:DescribeImages',
  'ecr:BatchGetImage',
  'ecr:GetLifecyclePolicy',
  'ecr:GetLifecyclePolicyPreview',
  'ecr:ListTagsForResource',
  'ecr:DescribeImageScanFindings',
];

const POWER_USER_ACTIONS = [...READ_ONLY_ACTIONS, 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage'];

/** AWS's documents are JSON with four-space indentation; the text is what GetPolicyVersion returns. */
function document(statements: readonly object[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements }, null, 4);
}

function policy(policyName: string, policyId: string, description: string, statements: readonly object[]): AwsManagedPolicy {
  return { arn: `${AWS_MANAGED_PREFIX}${policyName}`, policyName, policyId, path: '/', description, defaultVersionId: 'v1', document: document(statements) };
}

export const AWS_MANAGED_POLICIES: ReadonlyMap<string, AwsManagedPolicy> = new Map(
  [
    policy('AmazonEC2ContainerRegistryReadOnly', 'ANPABERTHECRREADONLYA', 'Provides read-only access to Amazon EC2 Container Registry repositories.', [
      { Effect: 'Allow', Action: READ_ONLY_ACTIONS, Resource: '*' },
    ]),
    policy(
      'AmazonEC2ContainerRegistryPowerUser',
      'ANPABERTHECRPOWERUSRA',
      'Provides full access to Amazon EC2 Container Registry repositories, but does not allow repository deletion or policy changes.',
      [{ Effect: 'Allow', Action: POWER_USER_ACTIONS, Resource: '*' }],
    ),
    policy('AmazonEC2ContainerRegistryFullAccess', 'ANPABERTHECRFULLACCSA', 'Provides administrative access to Amazon ECR resources', [
      { Effect: 'Allow', Action: ['ecr:*', 'cloudtrail:LookupEvents'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['iam:CreateServiceLinkedRole'],
        Resource: '*',
        Condition: { StringEquals: { 'iam:AWSServiceName': ['replication.ecr.amazonaws.com'] } },
      },
    ]),
    // Pulling, and pulling through a cache rule (which imports the upstream image on a miss).
    policy('AmazonEC2ContainerRegistryPullOnly', 'ANPABERTHECRPULLONLYA', 'Provides access to pull images from Amazon ECR repositories.', [
      {
        Effect: 'Allow',
        Action: ['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchImportUpstreamImage'],
        Resource: '*',
      },
    ]),
  ].map((p) => [p.arn, p]),
);

/** Whether `arn` names an AWS managed policy (known to berth or not). */
export function isAwsManagedArn(arn: string): boolean {
  return arn.startsWith(AWS_MANAGED_PREFIX);
}
