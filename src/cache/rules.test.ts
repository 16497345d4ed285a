import { describe, expect, it } from 'vitest';
import { kindOfHost, matchRule, upstreamBaseUrl, type CacheRule } from './rules.js';

function rule(prefix: string, upstreamRegistry: CacheRule['upstreamRegistry'] = 'oci', upstreamPrefix = 'ROOT'): CacheRule {
  return { accountId: '123456789012', prefix, upstreamUrl: 'https://r.example', upstreamRegistry, upstreamPrefix, credentialArn: null, customRoleArn: null, createdAt: 0, updatedAt: 0 };
}

describe('cache rule matching', () => {
  it('picks the longest prefix with an implied trailing slash, else ROOT', () => {
    const rules = [rule('hub'), rule('hub/team'), rule('ROOT')];
    expect(matchRule(rules, 'hub/team/app')).toMatchObject({ rule: { prefix: 'hub/team' }, upstreamRepo: 'app' });
    expect(matchRule(rules, 'hub/other/app')).toMatchObject({ rule: { prefix: 'hub' }, upstreamRepo: 'other/app' });
    expect(matchRule(rules, 'hubble/app')).toMatchObject({ rule: { prefix: 'ROOT' }, upstreamRepo: 'hubble/app' });
    expect(matchRule([rule('hub')], 'hubble/app')).toBeUndefined();
    expect(matchRule([rule('hub')], 'hub')).toBeUndefined();
  });

  it("maps Docker Hub's official images to library/ and rewrites ECR upstream prefixes", () => {
    expect(matchRule([rule('dh', 'docker-hub')], 'dh/nginx')!.upstreamRepo).toBe('library/nginx');
    expect(matchRule([rule('dh', 'docker-hub')], 'dh/library/nginx')!.upstreamRepo).toBe('library/nginx');
    expect(matchRule([rule('dh', 'docker-hub')], 'dh/bitnami/redis')!.upstreamRepo).toBe('bitnami/redis');
    expect(matchRule([rule('mirror', 'ecr', 'prod')], 'mirror/team/app')!.upstreamRepo).toBe('prod/team/app');
  });

  it('knows the hosts of ECR upstream kinds', () => {
    expect(kindOfHost('public.ecr.aws')).toBe('ecr-public');
    expect(kindOfHost('registry-1.docker.io')).toBe('docker-hub');
    expect(kindOfHost('myreg.azurecr.io')).toBe('azure-container-registry');
    expect(kindOfHost('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe('ecr');
    expect(kindOfHost('127.0.0.1:5000')).toBe('oci');
    expect(upstreamBaseUrl({ upstreamUrl: 'docker.io', upstreamRegistry: 'docker-hub' })).toBe('https://registry-1.docker.io');
    expect(upstreamBaseUrl({ upstreamUrl: 'http://127.0.0.1:5000', upstreamRegistry: 'oci' })).toBe('http://127.0.0.1:5000');
  });
});
