export { type CopyFrom, type CopyTo, checkCopyEnds } from "./copy-ends.js";
export { type EndpointChoice, pickEndpoint } from "./endpoint.js";
export {
  checkDestination,
  type OpenedUpload,
  openUploadSource,
  type UploadSource,
  writeFileAtomic,
} from "./files.js";
export { networkErrorCode } from "./network-error.js";
export { isRetryableStatus, serviceErrorCode } from "./status-code.js";
