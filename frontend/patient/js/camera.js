// The live camera (getUserMedia) for the photo screens, where the browser has it. iOS home-screen
// apps have had an unreliable getUserMedia, so there the file input (which opens the system
// camera) comes first; it is always offered as well. One stream at a time; it stops when the
// screen changes or the app is hidden, so the camera light never stays on behind the patient's back.
let stream = null;
let stopped = () => {};

export const supported = () => !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
// An app added to the iPhone's home screen.
export const iosHomeScreen = () => navigator.standalone === true;

export async function open(video, facing) {
  close();
  const constraints = {
    audio: false,
    video: { facingMode: { ideal: facing }, width: { ideal: 3264 }, height: { ideal: 2448 } },
  };
  stream = await navigator.mediaDevices.getUserMedia(constraints);
  video.muted = true;
  video.playsInline = true;
  video.setAttribute("playsinline", "");
  video.srcObject = stream;
  await video.play();
  return stream;
}

// `fn` runs whenever the camera stops (the screen changed, the app was hidden).
export const onStop = (fn) => (stopped = fn);

export function close() {
  if (!stream) return;
  stream.getTracks().forEach((t) => t.stop());
  stream = null;
  const fn = stopped;
  stopped = () => {};
  fn();
}

export const live = () => !!stream && stream.getVideoTracks().some((t) => t.readyState === "live");

// The frame as the patient sees it: the centre of the video cropped to the stage's `aspect`
// (width / height, 3:4 portrait), so it lines up with the outline and the last photo. Not
// mirrored, even when the preview of the front camera is.
export function snap(video, aspect = 3 / 4) {
  const vw = video.videoWidth;
  const vh = video.videoHeight;
  if (!vw || !vh) return Promise.reject(new Error("The camera has not started yet."));
  let sw = vw;
  let sh = Math.round(vw / aspect);
  if (sh > vh) {
    sh = vh;
    sw = Math.round(vh * aspect);
  }
  const canvas = document.createElement("canvas");
  canvas.width = sw;
  canvas.height = sh;
  canvas.getContext("2d").drawImage(video, (vw - sw) / 2, (vh - sh) / 2, sw, sh, 0, 0, sw, sh);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("The photo could not be made."))), "image/jpeg", 0.92)
  );
}

// Leaving the screen or the app stops the camera.
window.addEventListener("hashchange", close);
document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && close());
