package dev.pixseek.harness;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * One OpenSearch node in this JVM, for pixseek's integration tests (not for production).
 *
 * <p>Plugins are loaded from the classpath rather than from a distribution's modules/plugins folders:
 * no distribution exists here, and classpath plugins skip the jar-hell and plugin-descriptor checks.
 * No security manager is installed, so the plugins' policy files are not needed.
 *
 * <p>Usage: {@code java -cp 'lib/*:knn/*:harness.jar' dev.pixseek.harness.TestNode PORT DIR}
 */
public final class TestNode extends Node {

    // Netty4 serves HTTP; k-NN brings knn_vector and declares lang-painless as the plugin it extends.
    // Loaded by name: the k-NN jar comes out of its plugin zip, so it is not a compile dependency.
    private static final List<String> PLUGINS = List.of(
        "org.opensearch.transport.Netty4Plugin",
        "org.opensearch.painless.PainlessPlugin",
        "org.opensearch.knn.plugin.KNNPlugin"
    );

    // Without a config log4j prints errors only; the launcher redirects stdout to a log file.
    private static final String LOG_CONFIG = String.join("\n",
        "status = error",
        "appender.console.type = Console",
        "appender.console.name = console",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %m%n",
        "rootLogger.level = info",
        "rootLogger.appenderRef.console.ref = console",
        "");

    private TestNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        super(environment, plugins, true);
    }

    static Settings settings(int httpPort, Path dir) {
        return Settings.builder()
            .put("cluster.name", "pixseek-test")
            .put("node.name", "pixseek-test-node")
            .put("path.home", dir.toString())
            .put("path.data", dir.resolve("data").toString())
            .put("path.logs", dir.resolve("logs").toString())
            .put("discovery.type", "single-node")
            .put("http.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.host", "127.0.0.1")
            .put("transport.port", 0) // any free port: nothing joins this node
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            // Test machines often have full-ish disks; watermarks would turn indices read-only.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
    }

    @SuppressWarnings("unchecked")
    static List<Class<? extends Plugin>> pluginClasses() throws ClassNotFoundException {
        List<Class<? extends Plugin>> classes = new ArrayList<>();
        for (String name : PLUGINS) {
            classes.add((Class<? extends Plugin>) Class.forName(name));
        }
        return classes;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: TestNode HTTP_PORT DIR");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        Path dir = Path.of(args[1]).toAbsolutePath();
        Files.createDirectories(dir.resolve("data"));
        Files.createDirectories(dir.resolve("logs"));
        Files.createDirectories(dir.resolve("config"));

        Files.writeString(dir.resolve("config").resolve("log4j2.properties"), LOG_CONFIG);

        Settings settings = settings(port, dir);
        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), dir.resolve("config"), () -> "pixseek-test-node");
        LogConfigurator.registerErrorListener();
        LogConfigurator.configure(env);
        TestNode node = new TestNode(env, pluginClasses());

        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM runs shutdown hooks: close the node so Lucene commits and releases its locks.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "pixseek-test-node-shutdown"));

        node.start();
        System.out.println("PIXSEEK-OPENSEARCH-READY http://127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }
}
