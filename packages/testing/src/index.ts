export {
  type RecordedRequest,
  type RequestMatcher,
  route,
  type StandIn,
  type StandInFault,
  type StandInHandler,
  type StandInOptions,
  type StandInReply,
  type StandInRequest,
  type StandInRoute,
  startStandIn,
} from "./stand-in.js";
