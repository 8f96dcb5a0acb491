// Speaks tip messages sent as live "tts.say" messages; "tts.stop" (the dashboard's kill
// switch) cancels what is speaking and everything queued. Speech is never replayed after a
// reconnect: live messages are not stored.
(function () {
  "use strict";
  var L = window.Limelight;
  var status = document.getElementById("tts-status");
  var synth = window.speechSynthesis;
  var MAX = 300;

  function say(data) {
    if (!synth || !data || typeof data.text !== "string" || !data.text) return;
    var utterance = new SpeechSynthesisUtterance(data.text.slice(0, MAX));
    utterance.rate = 1;
    synth.speak(utterance);
    if (status) status.textContent = "Speaking: " + data.text.slice(0, MAX);
  }

  function stop() {
    if (synth) synth.cancel();
    if (status) status.textContent = "Text-to-speech stopped.";
  }

  if (!synth && status) status.textContent = "This browser has no speech synthesis.";
  L.onLive("tts.say", say);
  L.onLive("tts.stop", stop);
})();
