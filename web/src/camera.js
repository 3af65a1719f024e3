// Reading a QR code with the device's camera (jsQR, bundled): both pages scan a document's QR link with it.
import jsQR from "jsqr";

/** The camera shown in `video`, its frames read through `canvas` until a QR code is found. */
export class Scanner {
  constructor(video, canvas) {
    this.video = video;
    this.canvas = canvas;
    this.stream = null;
  }

  get running() {
    return this.stream !== null;
  }

  /**
   * Start the camera; `onCode` gets the first QR code's text, once, after the camera has stopped.
   * @param {(text: string) => void} onCode
   * @throws {Error} when there is no camera or the person refuses it
   */
  async start(onCode) {
    this.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    const { video, canvas } = this;
    video.srcObject = this.stream;
    video.hidden = false;
    await video.play();
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const tick = () => {
      if (!this.stream) return;
      if (video.readyState === video.HAVE_ENOUGH_DATA) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const image = context.getImageData(0, 0, canvas.width, canvas.height);
        const code = jsQR(image.data, image.width, image.height);
        if (code) {
          this.stop();
          onCode(code.data);
          return;
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  stop() {
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.hidden = true;
  }
}
