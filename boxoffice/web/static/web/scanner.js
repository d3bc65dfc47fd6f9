// The check-in page's camera scanner: frames from the camera go through jsQR (vendored); a
// decoded code is typed into the Ticket code field and the form is sent, as a USB scanner would.
(function () {
  "use strict";
  var REPEAT_MS = 3000; // the same code seen again within this window is the same scan

  function start(button) {
    var form = document.querySelector("form[data-checkin]");
    var video = document.querySelector("[data-scanner-video]");
    var state = document.querySelector("[data-scanner-state]");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      state.textContent = "This browser cannot use a camera here (it needs HTTPS).";
      return;
    }
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    var last = { code: "", at: 0 };
    button.disabled = true;
    state.textContent = "Starting the camera…";
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        return video.play();
      })
      .then(function () {
        state.textContent = "Point the camera at a ticket's QR code.";
        window.requestAnimationFrame(scan);
      })
      .catch(function (error) {
        button.disabled = false;
        state.textContent = "No camera: " + error.message;
      });

    function scan() {
      if (video.readyState === video.HAVE_ENOUGH_DATA && video.videoWidth) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        var now = Date.now();
        if (found && found.data && !(found.data === last.code && now - last.at < REPEAT_MS)) {
          last = { code: found.data, at: now };
          form.querySelector("[name=code]").value = found.data;
          state.textContent = "Read " + found.data;
          form.requestSubmit();
        }
      }
      window.setTimeout(function () { window.requestAnimationFrame(scan); }, 150);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-scanner-start]");
    if (button) start(button);
  });
})();
