import { type Task, task, taskContext } from "@tributary/flow";
import {
  downloadObject,
  type GcsDownloadBufferResult,
  type GcsDownloadFileResult,
  type GcsDownloadOptions,
  type GcsDownloadResult,
  type GcsDownloadStreamResult,
} from "./gcs-download.js";
import type { GcsObjectInfo } from "./gcs-object-info.js";
import {
  copyObject,
  deleteObjects,
  type GcsCopyOptions,
  type GcsDeleteOptions,
  type GcsDeleteResult,
  type GcsListOptions,
  type GcsListResult,
  type GcsObjectOptions,
  listObjects,
  objectExists,
} from "./gcs-objects.js";
import { type GcsUploadOptions, uploadObject } from "./gcs-upload.js";

const signal = () => ({ signal: taskContext()?.signal });

/**
 * Task: uploads a file, Buffer, string or stream to Cloud Storage. Streamed, never buffered whole; resumable from
 * `resumableThreshold` (8 MiB) on, so a dropped connection resumes instead of restarting.
 * @example
 * const info = await gcsUpload({ bucket: "reports", key: "2024/daily.csv", file: "./daily.csv" });
 * console.log(info.size, info.generation);
 */
export const gcsUpload: Task<[options: GcsUploadOptions], GcsObjectInfo> = task(
  { name: "gcsUpload" },
  (options: GcsUploadOptions) => uploadObject(options, signal()),
);

/** The `gcsDownload` task, typed by where the bytes go (`destination` → `path`, else `body`: a Buffer or a stream). */
export type GcsDownloadTask = {
  (options: GcsDownloadOptions & { destination: string; as?: undefined }): Promise<GcsDownloadFileResult>;
  (options: GcsDownloadOptions & { as: "stream"; destination?: undefined }): Promise<GcsDownloadStreamResult>;
  (
    options: GcsDownloadOptions & { as?: "buffer"; destination?: undefined },
  ): Promise<GcsDownloadBufferResult>;
} & Task<[options: GcsDownloadOptions], GcsDownloadResult>;

/**
 * Task: downloads an object to a file (through a temporary file and a rename: a failure leaves nothing there), to a
 * Buffer (the default) or to a stream (`as: "stream"`). A dropped connection resumes with a Range request.
 * @example
 * await gcsDownload({ bucket: "reports", key: "2024/daily.csv", destination: "./daily.csv" });
 * const text = (await gcsDownload({ bucket: "reports", key: "notes.txt" })).body.toString("utf8");
 */
export const gcsDownload: GcsDownloadTask = task({ name: "gcsDownload" }, (options: GcsDownloadOptions) =>
  downloadObject(options, signal()),
) as GcsDownloadTask;

/**
 * Task: lists objects in a bucket (with `prefix` and `delimiter`), following pages up to `limit`. For page-by-page
 * iteration use `gcsListPages`.
 * @example
 * const { objects, prefixes } = await gcsList({ bucket: "reports", prefix: "2024/", delimiter: "/" });
 */
export const gcsList: Task<[options: GcsListOptions], GcsListResult> = task(
  { name: "gcsList" },
  (options: GcsListOptions) => listObjects(options, signal()),
);

/**
 * Task: deletes one object or many (`keys`). Idempotent: a missing object is fine, unless `mustExist` is set.
 * @example
 * await gcsDelete({ bucket: "reports", key: "2024/old.csv" });
 */
export const gcsDelete: Task<[options: GcsDeleteOptions], GcsDeleteResult> = task(
  { name: "gcsDelete" },
  (options: GcsDeleteOptions) => deleteObjects(options, signal()),
);

/**
 * Task: copies an object within or across buckets.
 * @example
 * await gcsCopy({ from: { bucket: "incoming", key: "a.csv" }, to: { bucket: "archive", key: "2024/a.csv" } });
 */
export const gcsCopy: Task<[options: GcsCopyOptions], GcsObjectInfo> = task(
  { name: "gcsCopy" },
  (options: GcsCopyOptions) => copyObject(options, signal()),
);

/**
 * Task: tells whether an object exists.
 * @example
 * if (!(await gcsExists({ bucket: "reports", key: "2024/daily.csv" }))) throw new Error("report missing");
 */
export const gcsExists: Task<[options: GcsObjectOptions], boolean> = task(
  { name: "gcsExists" },
  (options: GcsObjectOptions) => objectExists(options, signal()),
);
