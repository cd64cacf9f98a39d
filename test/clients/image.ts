// A busybox image for the real-client tests, built locally (no registry): one uncompressed layer
// holding a static busybox with every applet linked, written as one tar that is both an OCI image
// layout (oci-layout, index.json, blobs/sha256/*) and a docker-archive (manifest.json naming the
// same blobs). `ctr images import`, `podman load` and `docker load` all read it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxPath } from '../../conformance/lib/paths.js';

/** The name every client imports the image under (docker/podman short form; ctr adds docker.io/). */
export const IMAGE_REPO = 'tsrun-test/busybox';
export const IMAGE_TAG = 'latest';
export const IMAGE_REF = `${IMAGE_REPO}:${IMAGE_TAG}`;
/** The fully qualified name containerd stores it under. */
export const IMAGE_FQ = `docker.io/${IMAGE_REF}`;

export interface BuiltImage {
  /** The archive (OCI layout + docker-archive in one tar). */
  archive: string;
  /** sha256:<hex> of the image config (docker/podman image id). */
  configDigest: string;
  /** sha256:<hex> of the OCI manifest. */
  manifestDigest: string;
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function makeRootfs(rootfs: string): void {
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'run', 'var', 'usr/bin', 'usr/sbin', 'sbin']) {
    mkdirSync(join(rootfs, d), { recursive: true, mode: 0o755 });
  }
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync(busyboxPath, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(busyboxPath, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a !== '' && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** A blob under blobs/sha256/, returning its OCI descriptor fields. */
function putBlob(layout: string, data: Buffer): { digest: string; size: number; path: string } {
  const hex = sha256(data);
  const path = `blobs/sha256/${hex}`;
  writeFileSync(join(layout, path), data);
  return { digest: `sha256:${hex}`, size: data.length, path };
}

/**
 * Builds the image under `workDir` (which must exist and be empty) and returns the archive path.
 * Takes about a second; callers build once per test file.
 */
export function buildBusyboxImage(workDir: string): BuiltImage {
  const rootfs = join(workDir, 'rootfs');
  const layout = join(workDir, 'layout');
  makeRootfs(rootfs);
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  // Root-owned, numeric ids, sorted: the layer reads the same whoever builds it.
  const layerTar = join(workDir, 'layer.tar');
  execFileSync('tar', ['--create', '--file', layerTar, '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '-C', rootfs, '.']);
  const layer = putBlob(layout, readFileSync(layerTar));
  const created = '2026-01-01T00:00:00Z';
  const config = putBlob(layout, Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created,
    config: { Env: [PATH_ENV], Cmd: ['sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
    history: [{ created, created_by: 'tsrun test/clients/image.ts' }],
  })));
  const manifest = putBlob(layout, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
  })));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: manifest.digest,
      size: manifest.size,
      platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'io.containerd.image.name': IMAGE_FQ, 'org.opencontainers.image.ref.name': IMAGE_TAG },
    }],
  }));
  // docker-archive's index: the same blobs, named by path.
  writeFileSync(join(layout, 'manifest.json'), JSON.stringify([{ Config: config.path, RepoTags: [IMAGE_REF], Layers: [layer.path] }]));
  const archive = join(workDir, 'busybox-image.tar');
  execFileSync('tar', ['--create', '--file', `${archive}.tmp`, '--numeric-owner', '--owner=0', '--group=0', '-C', layout, '.']);
  renameSync(`${archive}.tmp`, archive);
  return { archive, configDigest: config.digest, manifestDigest: manifest.digest };
}
