import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A MongoDB-compatible server for Anchorage's tests and CI (no mongod is available there).
 *
 *   java -cp "$(cat test/mongo-server/classpath)" test/mongo-server/Launcher.java PORT [H2_FILE]
 *
 * PORT 0 lets the OS choose. With H2_FILE the data lives in that file and survives a
 * restart (the "database goes away and comes back" test); without it, in memory.
 * Prints exactly one line "READY <port>" on stdout once it accepts connections, and
 * shuts down cleanly (closing the H2 file, so acknowledged writes are on disk) on SIGTERM.
 */
public class Launcher {

    /**
     * The built-in ServerVersion enum reports at most wire version 8, which the Node
     * driver 7 refuses. mongo-java-server speaks the OP_MSG protocol those versions use,
     * so announcing MongoDB 5.0 (wire version 13) is enough for the driver to talk to it.
     */
    static final class Mongo50 implements MongoVersion {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    }

    /**
     * MongoDB applies each single-document write atomically, and the store's design rests on
     * that (counters allocated with findOneAndUpdate $inc, version-checked replaces).
     * mongo-java-server handles connections on several threads, and its replies can hold the
     * live stored documents (not copies), which are encoded after the command returned: two
     * concurrent findOneAndUpdate $inc calls then both answer with the later post-image.
     * Running one command at a time and copying the reply before releasing the lock
     * restores the guarantee a real server gives.
     */
    static MongoBackend serialized(MongoBackend backend) {
        Object lock = new Object();
        return (MongoBackend) Proxy.newProxyInstance(MongoBackend.class.getClassLoader(),
                new Class<?>[] {MongoBackend.class}, (proxy, method, methodArgs) -> {
                    synchronized (lock) {
                        try {
                            Object result = method.invoke(backend, methodArgs);
                            return result instanceof Document ? ((Document) result).cloneDeeply() : result;
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    }
                });
    }

    public static void main(String[] args) throws Exception {
        // Must be set before the first logger is created (MongoServer's static init).
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");

        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: Launcher PORT [H2_FILE]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        String h2File = args.length == 2 ? args[1] : null;

        MongoBackend backend;
        if (h2File != null) {
            File parent = new File(h2File).getAbsoluteFile().getParentFile();
            if (parent != null) parent.mkdirs();
            backend = new H2Backend(h2File);
        } else {
            backend = new MemoryBackend();
        }
        backend.version(new Mongo50());

        MongoServer server = new MongoServer(serialized(backend));
        // Loopback only: a test server must never be reachable from the network.
        server.bind("127.0.0.1", port);
        InetSocketAddress bound = server.getLocalAddress();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // shutdownNow closes client connections and then the backend, which for H2
            // commits and closes the file.
            server.shutdownNow();
            stopped.countDown();
        }, "mongo-server-shutdown"));

        System.out.println("READY " + bound.getPort());
        System.out.flush();
        stopped.await();
    }
}
