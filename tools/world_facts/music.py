"""Music: composition -> composer (classical, opera, ballet, musicals).

COMPOSITIONS row: (work, composer aliases).
"""

_MOZART = "Wolfgang Amadeus Mozart|Mozart|W. A. Mozart"
_BEETHOVEN = "Ludwig van Beethoven|Beethoven"
_BACH = "Johann Sebastian Bach|J. S. Bach|J.S. Bach|Bach"
_HANDEL = "George Frideric Handel|Handel|Händel|Georg Friedrich Händel"
_TCHAIKOVSKY = "Pyotr Ilyich Tchaikovsky|Tchaikovsky|Peter Ilyich Tchaikovsky|Tschaikowsky"
_STRAVINSKY = "Igor Stravinsky|Stravinsky"
_DEBUSSY = "Claude Debussy|Debussy"
_VERDI = "Giuseppe Verdi|Verdi"
_PUCCINI = "Giacomo Puccini|Puccini"
_ROSSINI = "Gioachino Rossini|Gioacchino Rossini|Rossini"
_WAGNER = "Richard Wagner|Wagner"
_MUSSORGSKY = "Modest Mussorgsky|Mussorgsky|Moussorgsky"
_RIMSKY = "Nikolai Rimsky-Korsakov|Rimsky-Korsakov|Rimsky Korsakov"
_PROKOFIEV = "Sergei Prokofiev|Prokofiev"
_GERSHWIN = "George Gershwin|Gershwin"
_LLOYD_WEBBER = "Andrew Lloyd Webber|Lloyd Webber"
_SCHUBERT = "Franz Schubert|Schubert"
_CHOPIN = "Frédéric Chopin|Frederic Chopin|Chopin"
_BRAHMS = "Johannes Brahms|Brahms"
_ELGAR = "Edward Elgar|Elgar|Sir Edward Elgar"
_SAINT_SAENS = "Camille Saint-Saëns|Camille Saint-Saens|Saint-Saëns|Saint-Saens"
_RACHMANINOFF = "Sergei Rachmaninoff|Sergei Rachmaninov|Rachmaninoff|Rachmaninov"
_COPLAND = "Aaron Copland|Copland"
_OFFENBACH = "Jacques Offenbach|Offenbach"

COMPOSITIONS = [
    ("The Four Seasons", "Antonio Vivaldi|Vivaldi"),
    ("The Magic Flute", _MOZART),
    ("The Marriage of Figaro", _MOZART),
    ("Don Giovanni", _MOZART),
    ("Eine kleine Nachtmusik", _MOZART),
    ("the Requiem in D minor left unfinished in 1791", _MOZART),
    ("the Ninth Symphony that ends with the Ode to Joy", _BEETHOVEN),
    ("the Moonlight Sonata", _BEETHOVEN),
    ("Für Elise", _BEETHOVEN),
    ("the opera Fidelio", _BEETHOVEN),
    ("the Eroica Symphony", _BEETHOVEN),
    ("the Brandenburg Concertos", _BACH),
    ("The Well-Tempered Clavier", _BACH),
    ("the Goldberg Variations", _BACH),
    ("the oratorio Messiah", _HANDEL),
    ("Water Music", _HANDEL),
    ("Swan Lake", _TCHAIKOVSKY),
    ("The Nutcracker", _TCHAIKOVSKY),
    ("the 1812 Overture", _TCHAIKOVSKY),
    ("The Sleeping Beauty ballet", _TCHAIKOVSKY),
    ("the opera Eugene Onegin", _TCHAIKOVSKY),
    ("The Rite of Spring", _STRAVINSKY),
    ("The Firebird", _STRAVINSKY),
    ("Boléro", "Maurice Ravel|Ravel"),
    ("Clair de lune", _DEBUSSY),
    ("La Mer", _DEBUSSY),
    ("The Blue Danube waltz", "Johann Strauss II|Johann Strauss|Johann Strauss the Younger|Johann Strauss Jr."),
    ("Also sprach Zarathustra", "Richard Strauss"),
    ("Carmen", "Georges Bizet|Bizet"),
    ("La traviata", _VERDI),
    ("Aida", _VERDI),
    ("Rigoletto", _VERDI),
    ("La bohème", _PUCCINI),
    ("Madama Butterfly", _PUCCINI),
    ("Tosca", _PUCCINI),
    ("Turandot", _PUCCINI),
    ("The Barber of Seville", _ROSSINI),
    ("the William Tell Overture", _ROSSINI),
    ("The Ring of the Nibelung", _WAGNER),
    ("Tristan und Isolde", _WAGNER),
    ("Ride of the Valkyries", _WAGNER),
    ("The Planets suite", "Gustav Holst|Holst"),
    ("the incidental music for Peer Gynt", "Edvard Grieg|Grieg"),
    ("Finlandia", "Jean Sibelius|Sibelius"),
    ("Vltava (The Moldau)", "Bedřich Smetana|Bedrich Smetana|Smetana"),
    ("the New World Symphony", "Antonín Dvořák|Antonin Dvorak|Dvořák|Dvorak"),
    ("the Hungarian Rhapsodies", "Franz Liszt|Liszt"),
    ("The Carnival of the Animals", _SAINT_SAENS),
    ("Danse macabre", _SAINT_SAENS),
    ("Pictures at an Exhibition", _MUSSORGSKY),
    ("Night on Bald Mountain", _MUSSORGSKY),
    ("the opera Boris Godunov", _MUSSORGSKY),
    ("Scheherazade", _RIMSKY),
    ("Flight of the Bumblebee", _RIMSKY),
    ("Peter and the Wolf", _PROKOFIEV),
    ("Lieutenant Kijé", _PROKOFIEV),
    ("Rhapsody in Blue", _GERSHWIN),
    ("Porgy and Bess", _GERSHWIN),
    ("the music of West Side Story", "Leonard Bernstein|Bernstein"),
    ("the musical The Phantom of the Opera", _LLOYD_WEBBER),
    ("the musical Cats", _LLOYD_WEBBER),
    ("Carmina Burana", "Carl Orff|Orff"),
    ("the Gymnopédies", "Erik Satie|Satie"),
    ("Adagio for Strings", "Samuel Barber"),
    ("Canon in D", "Johann Pachelbel|Pachelbel"),
    ("the Surprise Symphony", "Joseph Haydn|Haydn|Franz Joseph Haydn"),
    ("the Trout Quintet", _SCHUBERT),
    ("the Unfinished Symphony (No. 8 in B minor)", _SCHUBERT),
    ("the Wedding March from A Midsummer Night's Dream", "Felix Mendelssohn|Mendelssohn"),
    ("the Minute Waltz", _CHOPIN),
    ("the Raindrop Prelude", _CHOPIN),
    ("the Hungarian Dances", _BRAHMS),
    ("The Lark Ascending", "Ralph Vaughan Williams|Vaughan Williams"),
    ("the Pomp and Circumstance Marches", _ELGAR),
    ("the Enigma Variations", _ELGAR),
    ("4′33″ (four minutes thirty-three seconds of silence)", "John Cage|Cage"),
    ("the opera Einstein on the Beach", "Philip Glass"),
    ("the music of The Threepenny Opera", "Kurt Weill|Weill"),
    ("Cavalleria rusticana", "Pietro Mascagni|Mascagni"),
    ("Pagliacci", "Ruggero Leoncavallo|Leoncavallo"),
    ("Symphonie fantastique", "Hector Berlioz|Berlioz"),
    ("the Prelude in C-sharp minor, Op. 3 No. 2", _RACHMANINOFF),
    ("Rhapsody on a Theme of Paganini", _RACHMANINOFF),
    ("the Sabre Dance", "Aram Khachaturian|Khachaturian"),
    ("Appalachian Spring", _COPLAND),
    ("Fanfare for the Common Man", _COPLAND),
    ("The Stars and Stripes Forever", "John Philip Sousa|Sousa"),
    ("the ballet Giselle", "Adolphe Adam"),
    ("the ballet Coppélia", "Léo Delibes|Leo Delibes|Delibes"),
    ("Orpheus in the Underworld", _OFFENBACH),
    ("The Tales of Hoffmann", _OFFENBACH),
    ("the opera Dido and Aeneas", "Henry Purcell|Purcell"),
    ("the opera Orfeo (L'Orfeo, 1607)", "Claudio Monteverdi|Monteverdi"),
    ("the music of The Mikado", "Arthur Sullivan|Sullivan|Sir Arthur Sullivan"),
]
