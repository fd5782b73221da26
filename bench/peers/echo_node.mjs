// echo_node.mjs: Node peer of the TCP echo entries (runtime node, Node 20):
// the net module, every 'data' chunk written straight back. noDelay on, as
// the other servers have it.
//
//   node echo_node.mjs PORT       serves 127.0.0.1:PORT until killed
import net from "node:net";

const port = Number(process.argv[2]);
if (!port) {
  console.error("usage: node echo_node.mjs PORT");
  process.exit(2);
}
const server = net.createServer({ noDelay: true }, (sock) => {
  sock.on("data", (d) => sock.write(d));
  sock.on("error", () => sock.destroy());
});
server.on("error", (e) => {
  console.error("echo_node:", e.message);
  process.exit(1);
});
server.listen(port, "127.0.0.1", 1024);
