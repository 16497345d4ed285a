import { describe, expect, it } from 'vitest';
import { VersionError, compareVersions, ecosystemFamily, orderingFor } from './index.js';

const sign = (n: number) => Math.sign(n);

describe('ecosystemFamily', () => {
  it.each([
    ['Debian:12', 'dpkg'],
    ['Debian', 'dpkg'],
    ['Ubuntu:22.04:LTS', 'dpkg'],
    ['Alpine:v3.20', 'apk'],
    ['Red Hat:rhel_aus:8.4::appstream', 'rpm'],
    ['AlmaLinux:9', 'rpm'],
    ['Rocky Linux:8', 'rpm'],
    ['openSUSE:Leap 15.5', 'rpm'],
    ['SUSE:Linux Enterprise Server 15 SP5', 'rpm'],
    ['PyPI', 'pep440'],
    ['Maven', 'maven'],
    ['Maven:https://maven.google.com', 'maven'],
    ['npm', 'semver'],
    ['crates.io', 'semver'],
    ['NuGet', 'nuget'],
    ['Packagist', 'packagist'],
    ['Go', 'go'],
    ['RubyGems', 'rubygems'],
  ])('%s -> %s', (ecosystem, family) => {
    expect(ecosystemFamily(ecosystem)).toBe(family);
  });

  it('has no ordering for unknown ecosystems, and says so', () => {
    expect(ecosystemFamily('Hackage')).toBeUndefined();
    expect(() => compareVersions('Hackage', '1', '2')).toThrow('no version ordering for ecosystem "Hackage"');
  });
});

describe('compareVersions', () => {
  it('orders Go module versions, pseudo-versions and toolchain versions', () => {
    const go = (a: string, b: string) => sign(compareVersions('Go', a, b));
    expect(go('v1.3.1', '1.3.2')).toBe(-1);
    expect(go('1.3.2', 'v1.3.2')).toBe(0);
    expect(go('v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0-20200101000000-aaaaaaaaaaaa')).toBe(-1);
    expect(go('v0.0.0-20191109021931-daa7c04131f5', '0.1.0')).toBe(-1);
    expect(go('v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.3')).toBe(1); // pseudo-version after v1.2.3
    expect(go('v2.0.0+incompatible', '2.0.0')).toBe(0);
    expect(go('go1.21rc2', '1.21.0-rc.2')).toBe(0);
    expect(go('go1.21rc2', '1.21.0')).toBe(-1);
    expect(go('go1.21', '1.21.0')).toBe(0);
    expect(go('1.19.8', '1.19.10')).toBe(-1);
  });

  it('orders distribution versions', () => {
    expect(sign(compareVersions('Debian:12', '1:2.38.1-5', '2.38.1-5+b1'))).toBe(1);
    expect(sign(compareVersions('Debian:12', '241-7~deb10u6', '241-7~deb10u8'))).toBe(-1);
    expect(sign(compareVersions('Debian:12', '1.0~rc1', '1.0'))).toBe(-1);
    expect(sign(compareVersions('Alpine:v3.18', '1.2.4-r0', '1.2.4-r3'))).toBe(-1);
    expect(sign(compareVersions('Alpine:v3.18', '1.2.4_rc1', '1.2.4'))).toBe(-1);
    expect(sign(compareVersions('Rocky Linux:9', '2.32.1-42.el8_8', '2.32.1-43.el8'))).toBe(-1);
    expect(sign(compareVersions('Rocky Linux:9', '1:1.0-1', '2.0-1'))).toBe(1);
  });

  it('orders language versions', () => {
    expect(sign(compareVersions('PyPI', '1.0.dev0', '1.0a1'))).toBe(-1);
    expect(sign(compareVersions('PyPI', '1.0', '1.0.0'))).toBe(0);
    expect(sign(compareVersions('Maven', '31.1-jre', '32.0.0-android'))).toBe(-1);
    expect(sign(compareVersions('Maven', '1.0-SNAPSHOT', '1.0'))).toBe(-1);
    expect(sign(compareVersions('npm', '1.0.0-beta.2', '1.0.0-beta.11'))).toBe(-1);
    expect(sign(compareVersions('crates.io', '0.0.0-0', '0.2.33'))).toBe(-1);
    expect(sign(compareVersions('RubyGems', '1.0.0.pre', '1.0.0'))).toBe(-1);
    expect(sign(compareVersions('NuGet', '1.0.0-BETA', '1.0.0-beta'))).toBe(0);
    expect(sign(compareVersions('Packagist', '1.0-dev', '1.0'))).toBe(-1);
  });

  it.each([
    ['Debian:12', 'a:1.0'],
    ['Debian:12', ''],
    ['Alpine:v3.20', ''],
    ['npm', 'latest'],
    ['npm', '1.x'],
    ['Go', 'master'],
    ['NuGet', '1.0.0.0.0'],
    ['RubyGems', 'beta'],
    ['Maven', ''],
    ['PyPI', ''],
  ])('throws a VersionError for %s version %j', (ecosystem, version) => {
    const o = orderingFor(ecosystem);
    expect(() => o.parse(version)).toThrow(VersionError);
  });
});
