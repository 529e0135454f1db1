INSERT INTO queues (id, name, language) VALUES (1, 'Impressoras', 'pt-BR');
